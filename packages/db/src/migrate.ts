import { type Kysely, type MigrationProvider, Migrator } from 'kysely';
import { migrations } from './migrations';
import type { Database } from './schema';

const provider: MigrationProvider = {
  getMigrations: async () => migrations,
};

/**
 * Brings the schema up to the latest migration and returns the names of those that ran (none when
 * it was already current). Concurrent starts run each migration once: on Postgres the Migrator takes
 * an advisory lock, and on SQLite it runs in one BEGIN IMMEDIATE transaction (sqlite-dialect.ts,
 * `TransactionalDdlSqliteAdapter`), which also leaves nothing of a migration that fails halfway.
 * A failure throws, naming the migration, with the driver's error as the cause.
 */
export async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  const migrator = new Migrator({ db, provider });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results.find((result) => result.status === 'Error')?.migrationName ?? 'the migrator';
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`database migration failed at ${failed}: ${reason}`, { cause: error });
  }
  return results.filter((result) => result.status === 'Success').map((result) => result.migrationName);
}
