/**
 * Where the data lives, read from one URL (SPEC §8 `DATABASE_URL`): `postgres://…` or
 * `postgresql://…` selects Postgres; `sqlite:PATH` or a bare path selects SQLite (`:memory:` for a
 * throwaway database). The default path is the application's choice, so an empty URL is refused.
 */
export type DatabaseLocation = { dialect: 'postgres'; url: string } | { dialect: 'sqlite'; path: string };

export function parseDatabaseUrl(url: string): DatabaseLocation {
  if (url.trim() === '') throw new Error('database url is empty: use postgres://…, sqlite:PATH or a file path');
  if (/^postgres(ql)?:\/\//i.test(url)) return { dialect: 'postgres', url };
  if (/^sqlite:/i.test(url)) {
    const path = url.slice('sqlite:'.length);
    if (path === '') throw new Error('database url "sqlite:" names no file: use sqlite:PATH');
    return { dialect: 'sqlite', path };
  }
  // Two or more letters before a colon is a scheme we do not speak; one letter is a Windows drive.
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(url)?.[1];
  if (scheme !== undefined) {
    throw new Error(`database url scheme "${scheme}:" is not supported: use postgres://…, sqlite:PATH or a file path`);
  }
  return { dialect: 'sqlite', path: url };
}
