export * from './schema';
export { type CreateDbOptions, type JifenDialect, type JifenDb, BUSY_TIMEOUT_MS_MIN, createDb } from './create-db';
export { type DatabaseLocation, parseDatabaseUrl } from './database-url';
export { isRetryableTransactionError, isUniqueViolation } from './database-errors';
export { type SqliteSynchronous, openSqlite, ownTransaction, releaseTransaction } from './sqlite-dialect';
export { migrateToLatest } from './migrate';
export * from './rows';
export { newId } from './ids';
export { type PreparedQuery, insertMany, prepareLockingRead, prepareQuery } from './prepared-query';
