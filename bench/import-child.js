// Child process for the snapshot-import figure, so that peak RSS is this process's own.
//
//   node bench/import-child.js baseline <db>            load the same modules, open the DB, report
//   node bench/import-child.js import <db> <snapshot>   the same, then importSnapshot()
//
// Prints one JSON object on stdout: { mode, maxRssKb, ms?, tickets? }.
// process.resourceUsage().maxRSS is in kilobytes and is the process's high-water mark.
import { performance } from 'node:perf_hooks';
import { GateStore, importSnapshot, openDatabase } from '../gate-agent/dist/store/index.js';
import '../config/dist/index.js';

const [mode, dbPath, snapshot] = process.argv.slice(2);
if ((mode !== 'baseline' && mode !== 'import') || !dbPath || (mode === 'import' && !snapshot)) {
  process.stderr.write('usage: import-child.js baseline <db> | import <db> <snapshot>\n');
  process.exit(2);
}

const store = new GateStore(openDatabase(dbPath));
const out = { mode };
if (mode === 'import') {
  const t0 = performance.now();
  const r = await importSnapshot(store.db, snapshot, { siteId: 'demo-park' });
  out.ms = performance.now() - t0;
  out.tickets = r.tickets;
  out.count = store.ticketCount();
  out.phases = r.phases;
}
store.close();
out.maxRssKb = process.resourceUsage().maxRSS;
process.stdout.write(`${JSON.stringify(out)}\n`);
