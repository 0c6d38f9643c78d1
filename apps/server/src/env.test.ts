import { describe, expect, it } from 'vitest';
import { parseEnv } from './env';

describe('the environment', () => {
  it('defaults to SQLite at ./data/jifen.db on port 8787, loopback only', () => {
    const env = parseEnv({});
    expect(env).toMatchObject({ DATABASE_URL: './data/jifen.db', PORT: 8787, HOST: '127.0.0.1', LOG_LEVEL: 'info', BODY_LIMIT_BYTES: 65_536, GROUP_COMMIT: true, PG_PREPARED_STATEMENTS: true });
    expect(Object.isFrozen(env)).toBe(true);
  });

  it('treats an empty variable as unset', () => {
    expect(parseEnv({ PORT: '', DATABASE_URL: '' })).toMatchObject({ PORT: 8787, DATABASE_URL: './data/jifen.db' });
  });

  it('reads numbers, flags and origin lists', () => {
    const env = parseEnv({ PORT: '9000', GROUP_COMMIT: 'false', PG_PREPARED_STATEMENTS: '0', CONSOLE_ORIGINS: 'https://console.example, http://localhost:5174' });
    expect(env).toMatchObject({ PORT: 9000, GROUP_COMMIT: false, PG_PREPARED_STATEMENTS: false, CONSOLE_ORIGINS: ['https://console.example', 'http://localhost:5174'] });
  });

  it('names every bad variable at once', () => {
    expect(() => parseEnv({ PORT: 'eighty', LOG_LEVEL: 'loud', CONSOLE_ORIGINS: 'console.example' })).toThrow(
      /invalid environment:\n {2}PORT: must be a whole number\n {2}LOG_LEVEL: .*\n {2}CONSOLE_ORIGINS: must be a comma-separated list/,
    );
    expect(() => parseEnv({ PORT: '70000' })).toThrow(/PORT: must be between 0 and 65535/);
  });
});
