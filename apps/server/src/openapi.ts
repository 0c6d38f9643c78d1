import type { AnyTRPCProcedure, AnyTRPCRouter } from '@trpc/server';
import { z } from 'zod';

/**
 * An OpenAPI 3.1 document of the merchant procedures (issue 4), generated from the very zod schemas
 * the procedures validate with, so a PHP or Java shop backend can generate a client. Every
 * procedure is a `POST /trpc/<procedure>` with the input as the JSON body; the answer is tRPC's
 * envelope: `{ "result": { "data": … } }`, or `{ "error": { message, code, data } }` with the HTTP
 * status of `data.httpStatus`.
 */

type JsonSchema = Record<string, unknown>;

const errorEnvelope: JsonSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['message', 'code', 'data'],
      properties: {
        message: { type: 'string', description: 'A sentence naming the field first: `amount: must be …`' },
        code: { type: 'integer', description: 'JSON-RPC 2.0 code (tRPC)' },
        data: {
          type: 'object',
          required: ['code', 'httpStatus', 'reason', 'param', 'facts'],
          properties: {
            code: { type: 'string', description: 'tRPC code: BAD_REQUEST, UNAUTHORIZED, NOT_FOUND, CONFLICT, …' },
            httpStatus: { type: 'integer' },
            path: { type: 'string' },
            reason: { type: 'string', description: 'Stable domain code: INVALID_INPUT, INSUFFICIENT_POINTS, IDEMPOTENCY_CONFLICT, …' },
            param: { type: ['string', 'null'], description: 'The offending input field (dotted path)' },
            facts: { type: 'object', description: 'The figures behind a refusal' },
          },
        },
      },
    },
  },
};

function inputSchema(procedure: AnyTRPCProcedure): JsonSchema | null {
  const parser = (procedure._def as { inputs: unknown[] }).inputs[0];
  if (!(parser instanceof z.ZodType)) return null;
  const schema = z.toJSONSchema(parser, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  delete schema.$schema;
  return schema;
}

export function openApiDocument(router: AnyTRPCRouter, options: { serverUrl: string; version?: string }): Record<string, unknown> {
  const procedures = router._def.procedures as Record<string, AnyTRPCProcedure>;
  const paths: Record<string, unknown> = {};
  for (const path of Object.keys(procedures).filter((name) => name.startsWith('merchant.')).sort()) {
    const procedure = procedures[path]!;
    const input = inputSchema(procedure);
    const isOptional = input !== null && procedure._def.inputs.length > 0 && (procedure._def.inputs[0] as z.ZodType).safeParse(undefined).success;
    paths[`/trpc/${path}`] = {
      post: {
        operationId: path,
        summary: `${path} (${procedure._def.type})`,
        tags: [path.split('.')[1]],
        requestBody: input === null ? undefined : { required: !isOptional, content: { 'application/json': { schema: input } } },
        responses: {
          '200': {
            description: 'The result',
            content: { 'application/json': { schema: { type: 'object', required: ['result'], properties: { result: { type: 'object', properties: { data: {} } } } } } },
          },
          '400': { $ref: '#/components/responses/Error' },
          '401': { $ref: '#/components/responses/Error' },
          '404': { $ref: '#/components/responses/Error' },
          '409': { $ref: '#/components/responses/Error' },
          '413': { $ref: '#/components/responses/Error' },
          '422': { $ref: '#/components/responses/Error' },
        },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'jifen merchant API',
      version: options.version ?? '1',
      description: 'tRPC v11 over plain JSON. Authenticate with `Authorization: Bearer <merchant API key>`. See docs/api.md.',
    },
    servers: [{ url: options.serverUrl }],
    security: [{ apiKey: [] }],
    paths,
    components: {
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'The merchant API key (jf_…), shown once at creation' } },
      responses: { Error: { description: 'A refusal in tRPC’s error shape', content: { 'application/json': { schema: errorEnvelope } } } },
    },
  };
}
