import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/** Page cache, and so the sorter's in-memory run size, of the sorting connection (KiB). */
const SORT_CACHE_KIB = 8_000;

/**
 * Sorting 1M staged tickets takes 1–2 s of one synchronous SQLite call. During a resync
 * that runs on the daemon's own thread, every scan would wait for it; so the sort runs on
 * a second connection to the staging file in a worker thread, and this thread stays free.
 * The worker is plain JavaScript (eval) so it needs no build step of its own.
 */
const WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
try {
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -' + workerData.cacheKib);
  db.exec(workerData.sql);
} finally {
  db.close();
}
parentPort.postMessage('sorted');
`;

/**
 * Run `sql(prefix)` against the staging database: in a worker when it is a file
 * (`stagePath`), the attached copy (`prefix` = its schema name plus a dot) otherwise.
 * The caller's connection must not touch the staging database meanwhile.
 */
export async function sortStage(db: Database.Database, stage: string, stagePath: string, sql: (prefix: string) => string): Promise<void> {
  if (!stagePath) {
    // An anonymous staging database (an in-memory gate: tests) exists for this connection only.
    db.exec(sql(`${stage}.`));
    return;
  }
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER, { eval: true, workerData: { driver, path: stagePath, sql: sql(''), cacheKib: SORT_CACHE_KIB } });
  await new Promise<void>((resolve, reject) => {
    let done = false;
    worker.once('message', () => (done = true));
    worker.once('error', reject);
    worker.once('exit', (code) => (done && code === 0 ? resolve() : reject(new Error(`staging sort worker exited with code ${code}`))));
  });
}
