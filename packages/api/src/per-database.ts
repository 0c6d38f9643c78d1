import type { Database } from '@jifen/db';
import type { Kysely } from 'kysely';

/**
 * In-memory maps kept per database handle, so two databases in one process (tests, a migration, a
 * restored copy) never share what one of them answered, and bounded: a map that reaches `max`
 * entries starts afresh. For facts worth remembering between requests (a verified token, a parsed
 * program version); `get` for a handle not seen before makes its map.
 */
export function mapsPerDatabase<Value>(max: number): (db: Kysely<Database>) => BoundedMap<Value> {
  const maps = new WeakMap<Kysely<Database>, BoundedMap<Value>>();
  return (db) => {
    let map = maps.get(db);
    if (map === undefined) maps.set(db, (map = new BoundedMap<Value>(max)));
    return map;
  };
}

export class BoundedMap<Value> {
  readonly #entries = new Map<string, Value>();

  constructor(private readonly max: number) {}

  get(key: string): Value | undefined {
    return this.#entries.get(key);
  }

  set(key: string, value: Value): void {
    if (this.#entries.size >= this.max && !this.#entries.has(key)) this.#entries.clear();
    this.#entries.set(key, value);
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }
}
