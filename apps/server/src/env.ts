import { z } from 'zod';

/**
 * The server's one reading of the environment (STYLE.md "Each app has one src/env.ts"): parsed
 * once, frozen, typed. Everything else takes its configuration as arguments. Every variable here is
 * listed in turbo.json so Turborepo passes it through.
 */

const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, { error: 'must be a whole number' })
    .transform(Number)
    .refine((value) => value >= min && value <= max, { error: `must be between ${min} and ${max}` });

const flag = z.enum(['true', 'false', '1', '0']).transform((value) => value === 'true' || value === '1');

const origins = z
  .string()
  .transform((value) => value.split(',').map((origin) => origin.trim()).filter((origin) => origin !== ''))
  .refine((list) => list.every((origin) => /^https?:\/\/[^/\s]+$/.test(origin)), { error: 'must be a comma-separated list of origins like https://console.example' });

const envSchema = z.object({
  /** SPEC §8: `postgres://…` selects Postgres; a path or `sqlite:PATH` selects SQLite. */
  DATABASE_URL: z.string().min(1).default('./data/jifen.db'),
  PORT: integer(0, 65_535).default(8787),
  /** Loopback by default: put a reverse proxy (TLS) in front, or set 0.0.0.0 deliberately. */
  HOST: z.string().min(1).default('127.0.0.1'),
  /** The URL the server is reached at, for printed links; defaults to http://localhost:PORT. */
  PUBLIC_URL: z.url().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  BODY_LIMIT_BYTES: integer(1024, 16 * 1024 * 1024).default(64 * 1024),
  SHOPPER_RATE_PER_SECOND: integer(1, 100_000).default(20),
  SHOPPER_RATE_BURST: integer(1, 100_000).default(60),
  JOB_INTERVAL_SECONDS: integer(0, 86_400).default(60),
  SHUTDOWN_TIMEOUT_SECONDS: integer(1, 3600).default(10),
  SQLITE_SYNCHRONOUS: z.enum(['FULL', 'NORMAL']).default('FULL'),
  /** Postgres: prepared queries as named server-side statements; false behind a pooler that cannot keep them. */
  PG_PREPARED_STATEMENTS: flag.default(true),
  /** SQLite: writes that arrive together share one commit (fewer fsyncs, same durability). */
  GROUP_COMMIT: flag.default(true),
  /** Origins (the merchant console) allowed to call merchant procedures from a browser. */
  CONSOLE_ORIGINS: origins.default([]),
});

export type Env = Readonly<z.output<typeof envSchema>>;

/** Parses an environment; a bad variable throws one message naming every bad variable. */
export function parseEnv(source: Record<string, string | undefined>): Env {
  // An empty variable means "not set", as in most shells' `VAR= cmd`.
  const present = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`invalid environment:\n  ${problems.join('\n  ')}`);
  }
  return Object.freeze(parsed.data);
}

export const env: Env = parseEnv(process.env);
