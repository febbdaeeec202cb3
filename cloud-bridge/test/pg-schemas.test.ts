import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { CloudStore } from '../src/index.js';
import { PG_URL, testDb, uniqueId } from './helpers.js';

describe('several Stile databases on one PostgreSQL server', () => {
  it('migrates a new schema even when another schema already has kysely’s migration tables', async () => {
    // Another park (or a concurrent test run) already migrated in its own schema.
    const other = uniqueId('cb_other_').replace(/-/g, '_');
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${other}; CREATE TABLE ${other}.kysely_migration (name text); CREATE TABLE ${other}.kysely_migration_lock (id text);`);
    const db = await testDb('postgres');
    try {
      const store = await CloudStore.open(db.options);
      const tables = await admin.query("SELECT table_schema FROM information_schema.tables WHERE table_name = 'kysely_migration_lock'");
      expect(tables.rows.length).toBeGreaterThanOrEqual(2); // its own, beside the other one
      await store.close();
    } finally {
      await admin.query(`DROP SCHEMA ${other} CASCADE`);
      await admin.end();
      await db.cleanup();
    }
  });

  it('starts while other databases on the server drop their schemas (kysely scans every schema for its migration table)', async () => {
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    let churning = true;
    let dropped = 0;
    // Another park's schemas coming and going, each with a table (and a serial column, which the scan looks up).
    const churn = (async () => {
      for (let i = 0; churning; i++) {
        const other = uniqueId(`cb_churn${i}_`).replace(/-/g, '_');
        await admin.query(`CREATE SCHEMA ${other}; CREATE TABLE ${other}.t (id serial primary key, a text, b text, c text)`);
        await admin.query(`DROP SCHEMA ${other} CASCADE`);
        dropped++;
        await new Promise((r) => setTimeout(r, 5)); // the server is shared with the other test files' starts
      }
    })();
    try {
      for (let n = 0; n < 12; n++) {
        const db = await testDb('postgres');
        try {
          const store = await CloudStore.open(db.options);
          await store.close();
        } finally {
          await db.cleanup();
        }
      }
    } finally {
      churning = false;
      await churn;
      await admin.end();
    }
    expect(dropped).toBeGreaterThan(10);
  });
});
