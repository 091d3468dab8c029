// Statements that run often (every audit event, every sealer tick, every row
// of a search page) are prepared once per connection and kept here, keyed by
// their SQL text. Only for get/run/all: a statement that is being iterated is
// busy until the iteration ends, so a query that iterates prepares its own.
import type Database from 'better-sqlite3-multiple-ciphers';

const cache = new WeakMap<Database.Database, Map<string, Database.Statement>>();

/** The statement for sql on this connection, prepared on first use. Never iterate it. */
export function prepared(db: Database.Database, sql: string): Database.Statement {
  let statements = cache.get(db);
  if (!statements) {
    statements = new Map();
    cache.set(db, statements);
  }
  let statement = statements.get(sql);
  if (!statement) {
    statement = db.prepare(sql);
    statements.set(sql, statement);
  }
  return statement;
}
