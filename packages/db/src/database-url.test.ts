import { describe, expect, test } from 'vitest';
import { parseDatabaseUrl } from './database-url';

describe('parseDatabaseUrl', () => {
  test('postgres:// and postgresql:// select Postgres and keep the URL whole', () => {
    expect(parseDatabaseUrl('postgres://jifen:secret@db:5432/jifen')).toEqual({
      dialect: 'postgres',
      url: 'postgres://jifen:secret@db:5432/jifen',
    });
    expect(parseDatabaseUrl('postgresql://db/jifen').dialect).toBe('postgres');
  });

  test('sqlite:PATH and a bare path select SQLite', () => {
    expect(parseDatabaseUrl('sqlite:./data/jifen.db')).toEqual({ dialect: 'sqlite', path: './data/jifen.db' });
    expect(parseDatabaseUrl('/var/lib/jifen/jifen.db')).toEqual({ dialect: 'sqlite', path: '/var/lib/jifen/jifen.db' });
    expect(parseDatabaseUrl('data/jifen.db')).toEqual({ dialect: 'sqlite', path: 'data/jifen.db' });
    expect(parseDatabaseUrl(':memory:')).toEqual({ dialect: 'sqlite', path: ':memory:' });
    expect(parseDatabaseUrl('C:\\jifen\\jifen.db')).toEqual({ dialect: 'sqlite', path: 'C:\\jifen\\jifen.db' });
  });

  test('an empty URL, an empty sqlite: and an unknown scheme are refused with the forms that work', () => {
    expect(() => parseDatabaseUrl('')).toThrow('database url is empty: use postgres://…, sqlite:PATH or a file path');
    expect(() => parseDatabaseUrl('sqlite:')).toThrow('names no file');
    expect(() => parseDatabaseUrl('mysql://db/jifen')).toThrow('database url scheme "mysql:" is not supported');
  });
});
