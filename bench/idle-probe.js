// Baseline for bench/import-under-load.js: a process that has nothing to do with the gate or
// the import. Every 25 ms it wakes up (how late the timer fired: time spent waiting for a CPU)
// and appends one small record to its own file with fdatasync (what one durable commit costs
// on this disk at that moment). One line per tick on stdout: start (the hrtime clock, shared
// with the bench process), lateness and fsync time in ms. Stops on SIGTERM.
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';

const file = process.argv[2];
const PERIOD_MS = 25;
const fd = openSync(file, 'a', 0o600);
const record = Buffer.alloc(100, 0x2e);
const now = () => Number(process.hrtime.bigint()) / 1e6;
let due = now() + PERIOD_MS;
let timer;
const tick = () => {
  const woke = now();
  const late = woke - due;
  const t0 = now();
  writeSync(fd, record);
  fdatasyncSync(fd);
  const fsync = now() - t0;
  process.stdout.write(`${woke.toFixed(3)} ${late.toFixed(3)} ${fsync.toFixed(3)}\n`);
  due += PERIOD_MS;
  timer = setTimeout(tick, Math.max(0, due - now()));
};
timer = setTimeout(tick, PERIOD_MS);
process.on('SIGTERM', () => {
  clearTimeout(timer);
  closeSync(fd);
  process.exit(0);
});
