import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { initTRPC } from '@trpc/server';
import { createHTTPServer } from '@trpc/server/adapters/standalone';
import { z } from 'zod';
import { createTrpcHandler } from '../src/http/trpc-handler';

/**
 * The servers the HTTP benchmark compares, each started in its own process (`tsx targets.ts <name>`)
 * so the load generator never shares their event loop. Every target validates the same input with
 * the same zod schema and answers the same JSON, so the difference between them is the HTTP path.
 */

const quoteInput = z.strictObject({
  cartAmount: z.number().refine((value) => Number.isSafeInteger(value) && value >= 0),
  items: z.array(z.strictObject({ sku: z.string().max(128).optional(), amount: z.number().int().min(0) })).max(200).optional(),
});

function answer(input: z.output<typeof quoteInput>) {
  return { cartAmount: input.cartAmount, maxPoints: Math.floor(input.cartAmount / 2), step: 1 };
}

const t = initTRPC.create();
const router = t.router({ quote: t.procedure.input(quoteInput).mutation(({ input }) => answer(input)) });

function plain() {
  return createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      const parsed = quoteInput.safeParse(JSON.parse(body));
      const status = parsed.success ? 200 : 400;
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(parsed.success ? { result: { data: answer(parsed.data) } } : { error: 'bad' }));
    });
  });
}

function lean() {
  const handle = createTrpcHandler({ router });
  return createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      void handle({ method: 'POST', path: 'quote', query: new URLSearchParams(), body }, {}).then((result) => {
        response.writeHead(result.status, { 'content-type': 'application/json' }).end(result.body);
      });
    });
  });
}

function standalone() {
  return createHTTPServer({ router, basePath: '/trpc/' });
}

const targets = { plain, lean, standalone } as const;
const name = process.argv[2] as keyof typeof targets;
const server = targets[name]();
server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
