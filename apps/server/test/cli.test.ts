import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { merchantForApiKey } from '@jifen/api';
import { describeEachDialect, useTestDb } from '@jifen/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, main } from '../src/cli';
import { type Env, parseEnv } from '../src/env';
import type { Json } from './support/http';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout's last line as JSON. */
  json: Json;
}

describeEachDialect('the jifen CLI', (dialect) => {
  const testDb = useTestDb(dialect);
  const folder = mkdtempSync(join(tmpdir(), 'jifen-cli-'));
  let env: Env;

  beforeAll(() => {
    env = parseEnv({ DATABASE_URL: testDb().url, LOG_LEVEL: 'silent' });
  });
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  async function jifen(...args: string[]): Promise<Run> {
    let stdout = '';
    let stderr = '';
    const code = await main(['node', 'jifen', ...args], { env, io: { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) } });
    const last = stdout.trim().split('\n').pop() ?? '';
    let json: Json;
    try {
      json = last === '' ? null : JSON.parse(last);
    } catch {
      json = null;
    }
    return { code, stdout, stderr, json };
  }

  it('prints help listing every command, exit 0', async () => {
    const run = await jifen('--help');
    expect(run.code).toBe(EXIT_OK);
    for (const command of ['serve', 'migrate', 'seed', 'merchants', 'sweep', 'verify', 'simulate', 'webhooks']) expect(run.stdout).toContain(command);
  });

  it('exits 2 on an unknown command or a missing required option', async () => {
    expect((await jifen('nonsense')).code).toBe(EXIT_USAGE);
    const missing = await jifen('merchants', 'create');
    expect(missing.code).toBe(EXIT_USAGE);
    expect(missing.stderr).toContain('--name');
  });

  it('migrates an up-to-date database as a no-op', async () => {
    const run = await jifen('migrate');
    expect(run.code).toBe(EXIT_OK);
    expect(run.json).toEqual({ applied: [] });
  });

  it('seeds the demo into an empty database once, and only once', async () => {
    const credentialsFile = join(folder, 'demo.json');
    const first = await jifen('seed', '--credentials-file', credentialsFile);
    expect(first.code).toBe(EXIT_OK);
    expect(first.json).toMatchObject({ seeded: true, merchantId: 'demo', templates: 3, shoppers: 3, orders: 7 });
    expect(JSON.parse(readFileSync(credentialsFile, 'utf8')).apiKey).toBe(first.json.apiKey);
    const orders = await testDb().db.selectFrom('orders').select('order_id').execute();
    expect(orders).toHaveLength(7);
    const again = await jifen('seed', '--credentials-file', credentialsFile);
    expect(again.json).toEqual({ seeded: false });
    expect(await testDb().db.selectFrom('orders').select('order_id').execute()).toHaveLength(7);
  });

  it('creates a merchant and prints its credentials as JSON once', async () => {
    const programFile = join(folder, 'program.json');
    writeFileSync(programFile, JSON.stringify({ currency: 'USD', timeZone: 'America/New_York' }));
    const run = await jifen('merchants', 'create', '--name', 'Tea House', '--program', programFile, '--origin', 'https://tea.example', '--origin', 'https://www.tea.example');
    expect(run.code).toBe(EXIT_OK);
    expect(Object.keys(run.json).sort()).toEqual(['apiKey', 'keyId', 'merchantId', 'webhookSecret', 'widgetSecret']);
    // The key's id is what revokes it once a rotated key replaces it, and the webhook secret what checks a delivery.
    const key = await testDb().db.selectFrom('api_keys').select('id').where('merchant_id', '=', run.json.merchantId).executeTakeFirstOrThrow();
    expect(run.json.keyId).toBe(key.id);
    const secret = await testDb().db.selectFrom('merchants').select('webhook_secret').where('id', '=', run.json.merchantId).executeTakeFirstOrThrow();
    expect(run.json.webhookSecret).toBe(secret.webhook_secret);
    expect(await merchantForApiKey(testDb().db, run.json.apiKey)).toBe(run.json.merchantId);
    const row = await testDb().db.selectFrom('merchants').select('storefront_origins').where('id', '=', run.json.merchantId).executeTakeFirstOrThrow();
    expect(JSON.parse(row.storefront_origins)).toEqual(['https://tea.example', 'https://www.tea.example']);
  });

  it('refuses an invalid program file or origin with exit 2 and a message naming the problem', async () => {
    const programFile = join(folder, 'bad-program.json');
    writeFileSync(programFile, JSON.stringify({ earning: { baseRate: -1 } }));
    const invalid = await jifen('merchants', 'create', '--name', 'Bad', '--program', programFile);
    expect(invalid.code).toBe(EXIT_USAGE);
    expect(invalid.stderr).toContain('earning.baseRate');
    const notJson = join(folder, 'not-json.json');
    writeFileSync(notJson, '{nope');
    expect((await jifen('merchants', 'create', '--name', 'Bad', '--program', notJson)).stderr).toContain('not valid JSON');
    expect((await jifen('merchants', 'create', '--name', 'Bad', '--origin', 'tea.example')).code).toBe(EXIT_USAGE);
    // An id a shopper token could not carry as its issuer: refused before anything is stored.
    const spaced = await jifen('merchants', 'create', '--name', 'Bad', '--id', 'my shop');
    expect(spaced.code).toBe(EXIT_USAGE);
    expect(spaced.stderr).toContain('merchantId');
    expect(await testDb().db.selectFrom('merchants').select('id').where('id', '=', 'my shop').execute()).toEqual([]);
  });

  it('sweeps once and prints what each stage did', async () => {
    const run = await jifen('sweep');
    expect(run.code).toBe(EXIT_OK);
    expect(Object.keys(run.json)).toEqual(expect.arrayContaining(['holds', 'pending', 'lots', 'capOuts', 'reminders']));
  });

  it('simulates a candidate program over the demo history', async () => {
    const programFile = join(folder, 'candidate.json');
    writeFileSync(programFile, JSON.stringify({ earning: { baseRate: 0.08 } }));
    const run = await jifen('simulate', '--program', programFile, '--merchant', 'demo', '--days', '366');
    expect(run.code).toBe(EXIT_OK);
    expect(run.json.merchantId).toBe('demo');
    expect((await jifen('simulate', '--program', programFile)).code).toBe(EXIT_USAGE);
    expect((await jifen('simulate', '--program', programFile, '--merchant', 'demo', '--days', '0')).code).toBe(EXIT_USAGE);
  });

  it('replays webhooks of a time range and refuses a reversed range', async () => {
    const run = await jifen('webhooks', 'replay', '--from', '2000-01-01', '--to', '2000-01-02');
    expect(run.code).toBe(EXIT_OK);
    expect(run.json).toEqual({ delivered: 0, failed: 0, undeliverable: 0, total: 0 });
    expect((await jifen('webhooks', 'replay', '--from', '2000-01-02', '--to', '2000-01-01')).code).toBe(EXIT_USAGE);
    expect((await jifen('webhooks', 'replay', '--from', 'yesterday', '--to', '2000-01-01')).code).toBe(EXIT_USAGE);
    // Dates a parser would roll over or read past: refused, not replayed as another window.
    for (const to of ['2000-02-30', '2000-01-02junk', '2000-01-02T25:00Z', '2000-01-02T10:00']) {
      expect((await jifen('webhooks', 'replay', '--from', '2000-01-01', '--to', to)).code).toBe(EXIT_USAGE);
    }
    expect((await jifen('webhooks', 'replay', '--from', '2000-01-01', '--to', '2000-01-02T10:00:00+08:00')).code).toBe(EXIT_OK);
  });

  it('answers a database it cannot reach as bad configuration (exit 2), for every command, before any work', async () => {
    const unreachable = parseEnv({ DATABASE_URL: dialect === 'postgres' ? 'postgres://postgres@127.0.0.1:1/jifen' : 'postgres://postgres@127.0.0.1:99999/jifen', LOG_LEVEL: 'silent' });
    for (const args of [['migrate'], ['verify'], ['sweep'], ['webhooks', 'replay', '--from', '2000-01-01', '--to', '2000-01-02']]) {
      let stderr = '';
      const code = await main(['node', 'jifen', ...args], { env: unreachable, io: { stdout: () => undefined, stderr: (text) => (stderr += text) } });
      expect([args[0], code]).toEqual([args[0], EXIT_USAGE]);
      expect(stderr).toContain('cannot open the database');
    }
  });

  it('verifies a sound ledger with exit 0, then names the first altered journal entry with exit 1', async () => {
    const sound = await jifen('verify');
    expect(sound.code).toBe(EXIT_OK);
    expect(sound.json).toMatchObject({ ok: true, merchants: 2 });
    expect((await jifen('verify', '--merchant', 'nobody')).code).toBe(EXIT_USAGE);

    const entry = await testDb().db.selectFrom('journal').select(['seq']).where('merchant_id', '=', 'demo').orderBy('seq').limit(1).offset(1).executeTakeFirstOrThrow();
    await testDb().db.updateTable('journal').set({ points: 999_999 }).where('merchant_id', '=', 'demo').where('seq', '=', entry.seq).execute();
    const broken = await jifen('verify', '--merchant', 'demo');
    expect(broken.code).toBe(EXIT_FAILED);
    expect(broken.json.ok).toBe(false);
    expect(broken.json.firstBad).toMatchObject({ merchantId: 'demo', seq: Number(entry.seq) });
    expect(broken.stderr).toContain('verify FAILED');
  });

  it('refuses a merchant id already taken and a webhook URL that is not http(s), naming the option, writing nothing', async () => {
    const first = await jifen('merchants', 'create', '--name', 'First', '--id', 'taken-id');
    expect(first.code).toBe(EXIT_OK);
    const again = await jifen('merchants', 'create', '--name', 'Second', '--id', 'taken-id');
    expect(again.code).toBe(EXIT_USAGE);
    expect(again.stderr).toContain('merchantId');
    expect(again.stderr).not.toMatch(/UNIQUE|duplicate key/i);
    const badUrl = await jifen('merchants', 'create', '--name', 'Bad hooks', '--id', 'bad-hooks', '--webhook-url', 'ftp://hooks.example');
    expect(badUrl.code).toBe(EXIT_USAGE);
    expect(badUrl.stderr).toContain('webhookUrl');
    expect(await testDb().db.selectFrom('merchants').select('id').where('id', 'in', ['bad-hooks']).execute()).toEqual([]);
  });

});

describe('the jifen CLI on a SQLite path with no file', () => {
  const folder = mkdtempSync(join(tmpdir(), 'jifen-cli-missing-'));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it('answers exit 2 naming the path for every command that works on an existing ledger, and creates no file', async () => {
    const path = join(folder, 'typo.db');
    const programFile = join(folder, 'program.json');
    writeFileSync(programFile, '{}');
    const env = parseEnv({ DATABASE_URL: `sqlite:${path}`, LOG_LEVEL: 'silent' });
    for (const args of [['verify'], ['sweep'], ['simulate', '--program', programFile], ['webhooks', 'replay', '--from', '2000-01-01', '--to', '2000-01-02']]) {
      let stderr = '';
      const code = await main(['node', 'jifen', ...args], { env, io: { stdout: () => undefined, stderr: (text) => (stderr += text) } });
      expect([args[0], code]).toEqual([args[0], EXIT_USAGE]);
      expect(stderr).toContain(`no SQLite database at ${path}`);
      expect(existsSync(path)).toBe(false);
    }
  });

  it('lets migrate create the file', async () => {
    const path = join(folder, 'new.db');
    const env = parseEnv({ DATABASE_URL: path, LOG_LEVEL: 'silent' });
    const code = await main(['node', 'jifen', 'migrate'], { env, io: { stdout: () => undefined, stderr: () => undefined } });
    expect(code).toBe(EXIT_OK);
    expect(existsSync(path)).toBe(true);
    const verify = await main(['node', 'jifen', 'verify'], { env, io: { stdout: () => undefined, stderr: () => undefined } });
    expect(verify).toBe(EXIT_OK);
  });
});
