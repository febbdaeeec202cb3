import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { isStileError } from '@stile/config';
import { loadCloudConfig } from '../config.js';
import { backupFileName, backupSqliteFile, restoreSqlite } from '../core/db/backup.js';
import { isCloudError } from '../core/errors.js';

export const BACKUP_USAGE =
  'usage: stile-cloud backup [--out FILE] --config cloud.yaml      (SQLite: a consistent copy while the cloud runs)\n' +
  '       stile-cloud restore FILE --config cloud.yaml            (SQLite: stile-cloud stopped; the current database is kept)';

/**
 * `stile-cloud backup` and `stile-cloud restore` on the SQLite store (docs/backup.md).
 * backup: SQLite's online backup API from a connection of its own, in one step, so the copy
 * is one consistent state whatever the running cloud writes meanwhile; default file
 * `<backup.dir, else the database's folder/backups>/cloud-<UTC time>.db`. restore: refused
 * while a stile-cloud runs on the database; the file is checked before anything moves.
 * Exit 0 done, 1 refused or failed (one line on stderr), 2 bad usage.
 */
export async function backupCommand(argv: string[], env: NodeJS.ProcessEnv, out: (s: string) => void, err: (s: string) => void, now: () => Date = () => new Date()): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { config: { type: 'string', short: 'c' }, out: { type: 'string', short: 'o' }, json: { type: 'boolean' } } });
  } catch (e) {
    err(`${(e as Error).message}\n${BACKUP_USAGE}\n`);
    return 2;
  }
  const [action, file, extra] = parsed.positionals;
  const { config, json } = parsed.values;
  if (!config || (action === 'backup' && file !== undefined) || (action === 'restore' && (file === undefined || extra !== undefined || parsed.values.out !== undefined))) {
    err(`stile-cloud: ${config ? 'say what to back up or restore' : '--config is required'}\n${BACKUP_USAGE}\n`);
    return 2;
  }
  try {
    const options = loadCloudConfig(config, env).options;
    if (options.databaseUrl || !options.sqlitePath) {
      err('stile-cloud: this cloud runs on PostgreSQL: back it up with pg_dump -Fc and restore with pg_restore (docs/backup.md)\n');
      return 1;
    }
    const dbPath = options.sqlitePath;
    if (dbPath === ':memory:') {
      err('stile-cloud: database.sqlitePath is :memory:, there is no file to back up or restore\n');
      return 1;
    }
    if (action === 'backup') {
      const dest = parsed.values.out ?? join(options.backup?.dir ?? join(dbPath, '..', 'backups'), backupFileName(now()));
      const started = Date.now();
      const { pages } = await backupSqliteFile(dbPath, dest);
      const ms = Date.now() - started;
      out(json ? `${JSON.stringify({ file: dest, from: dbPath, pages, ms })}\n` : `${dest}: backup of ${dbPath} (${pages} pages, ${ms} ms)\n`);
      return 0;
    }
    const r = await restoreSqlite(file!, dbPath, now());
    out(
      json
        ? `${JSON.stringify({ restored: file, database: dbPath, keptAs: r.keptAs ?? null, version: r.version, sites: r.sites, entries: r.entries })}\n`
        : `${dbPath}: restored from ${file} (schema ${r.version}, ${r.sites} site(s), ${r.entries} entries)${r.keptAs ? `; the database it replaces is kept as ${r.keptAs}` : ''}; start stile-cloud\n`,
    );
    return 0;
  } catch (e) {
    err(`stile-cloud: ${isCloudError(e) || isStileError(e) ? e.message : (e as Error).message}\n`);
    return 1;
  }
}
