import type { AddressInfo } from 'node:net';
import { Ledger, createMerchant } from '@jifen/api';
import type { JifenDialect } from '@jifen/db';
import { type TestDb, createTestDb } from '@jifen/db/testing';
import { type JifenServer, type ServerOptions, createServer } from '../../src/http/server';
import { createLogger } from '../../src/logger';

/**
 * A real jifen server on a random loopback port over a fresh database of the given dialect, with a
 * clock the test moves. Every HTTP suite starts one per dialect.
 */
export interface TestServer {
  url: string;
  server: JifenServer;
  ledger: Ledger;
  testDb: TestDb;
  /** The instant the ledger and token checks see; tests move it. */
  clock: { now: Date };
  close(): Promise<void>;
}

export const START = new Date('2026-11-11T04:00:00.000Z');

export async function startTestServer(dialect: JifenDialect, options: Partial<Omit<ServerOptions, 'ledger'>> = {}): Promise<TestServer> {
  const testDb = await createTestDb(dialect);
  const clock = { now: new Date(START) };
  const ledger = new Ledger(testDb, { clock: () => clock.now });
  const server = createServer({ ledger, logger: createLogger('silent'), ...options });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    ledger,
    testDb,
    clock,
    close: async () => {
      await server.shutdown(1_000);
      await testDb.close();
    },
  };
}

export interface TestMerchant {
  merchantId: string;
  apiKey: string;
  keyId: string;
  widgetSecret: string;
}

let merchants = 0;

/** A merchant with a default program; `origins` are its storefront origins. */
export async function aMerchant(ledger: Ledger, options: { origins?: string[]; merchantId?: string; program?: Record<string, unknown> } = {}): Promise<TestMerchant> {
  merchants += 1;
  return createMerchant(ledger, {
    name: `Shop ${merchants}`,
    ...(options.merchantId === undefined ? {} : { merchantId: options.merchantId }),
    storefrontOrigins: options.origins ?? ['https://shop.example'],
    ...(options.program === undefined ? {} : { program: options.program }),
  });
}
