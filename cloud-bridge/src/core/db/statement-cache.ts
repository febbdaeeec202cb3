import type { Database as BetterSqlite3Database, Statement } from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/**
 * better-sqlite3 behind Kysely with prepared statements kept (Kysely prepares every query
 * anew; for the ingest's 200-row inserts that was a fifth of the database time). Least
 * recently used statements are dropped beyond `max`. DDL is never cached: a schema change
 * makes older statements of the same text stale.
 */
export function cachingSqlite(db: BetterSqlite3Database, max = 256): SqliteDatabase {
  const cache = new Map<string, Statement>();
  return {
    close: () => {
      cache.clear();
      db.close();
    },
    prepare(sql: string): SqliteStatement {
      const hit = cache.get(sql);
      if (hit) {
        cache.delete(sql);
        cache.set(sql, hit);
        return hit as unknown as SqliteStatement;
      }
      const stmt = db.prepare(sql);
      if (/^\s*(select|insert|update|delete|with)\b/i.test(sql)) {
        cache.set(sql, stmt);
        if (cache.size > max) cache.delete(cache.keys().next().value!);
      }
      return stmt as unknown as SqliteStatement;
    },
  };
}
