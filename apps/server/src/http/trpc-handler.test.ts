import { TRPCError, initTRPC } from '@trpc/server';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTrpcHandler } from './trpc-handler';

/**
 * The handler runs a procedure's middleware chain itself (`runProcedure`, objects written out
 * instead of tRPC's helper). What a procedure sees and answers must be what tRPC's own caller
 * gives: the context each middleware adds, inputs merged across `.input()` calls, `meta`, and a
 * throw anywhere in the chain answered as that error.
 */
interface Ctx {
  user: string | null;
  trail: string[];
}

const t = initTRPC.context<Ctx>().meta<{ label: string }>().create();
const authed = t.procedure.use(({ ctx, next }) => {
  if (ctx.user === null) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'who are you' });
  return next({ ctx: { userId: ctx.user.toUpperCase(), trail: [...ctx.trail, 'authed'] } });
});
const router = t.router({
  echo: authed
    .meta({ label: 'echo' })
    .use(({ ctx, meta, next }) => next({ ctx: { trail: [...ctx.trail, `meta:${meta?.label ?? 'none'}`] } }))
    .input(z.object({ a: z.number() }))
    .input(z.object({ b: z.string() }))
    .mutation(({ ctx, input }) => ({ userId: ctx.userId, user: ctx.user, trail: ctx.trail, input })),
  fails: authed.input(z.object({ n: z.number() })).query(({ input }) => {
    if (input.n > 1) throw new TRPCError({ code: 'CONFLICT', message: `n is ${input.n}` });
    return input.n;
  }),
  forgets: t.procedure.use((async () => undefined) as never).query(() => 'never'),
});

const handle = createTrpcHandler({ router });
const caller = t.createCallerFactory(router);
const post = (path: string, input: unknown, ctx: Ctx) => handle({ method: 'POST', path, query: new URLSearchParams(), body: input === undefined ? '' : JSON.stringify(input) }, ctx);

describe('the lean handler runs middleware as tRPC does', () => {
  it('passes the context each middleware adds, meta, and the merged inputs', async () => {
    const ctx: Ctx = { user: 'ada', trail: ['start'] };
    const answer = await post('echo', { a: 1, b: 'x' }, ctx);
    expect(answer.status).toBe(200);
    const direct = await caller(ctx).echo({ a: 1, b: 'x' });
    expect(direct).toEqual({ userId: 'ADA', user: 'ada', trail: ['start', 'authed', 'meta:echo'], input: { a: 1, b: 'x' } });
    expect(JSON.parse(answer.body)).toEqual({ result: { data: direct } });
    // The caller's context object is never changed; each middleware's additions are its own copy.
    expect(ctx).toEqual({ user: 'ada', trail: ['start'] });
  });

  it('answers a throw in a middleware, in input validation and in the resolver as that error', async () => {
    const anonymous = await post('echo', { a: 1, b: 'x' }, { user: null, trail: [] });
    expect(anonymous.status).toBe(401);
    expect(JSON.parse(anonymous.body).error.message).toBe('who are you');

    const invalid = await post('echo', { a: 'one', b: 'x' }, { user: 'ada', trail: [] });
    expect(invalid.status).toBe(400);

    const refused = await post('fails', { n: 2 }, { user: 'ada', trail: [] });
    expect(refused.status).toBe(409);
    expect(JSON.parse(refused.body).error.message).toBe('n is 2');
    expect(JSON.parse((await post('fails', { n: 1 }, { user: 'ada', trail: [] })).body)).toEqual({ result: { data: 1 } });
  });

  it('answers a middleware that returns nothing as tRPC does: an internal error', async () => {
    const answer = await post('forgets', undefined, { user: 'ada', trail: [] });
    expect(answer.status).toBe(500);
    expect(answer.calls[0]?.error?.message).toMatch(/No result from middlewares/);
    await expect(caller({ user: 'ada', trail: [] }).forgets()).rejects.toThrow(/No result from middlewares/);
  });
});
