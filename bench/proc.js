// CPU and memory of processes from /proc (Linux), for the ingest breakdown and the fleet bench.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

let tck = 100;
try {
  tck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  /* keep 100 */
}

/** utime+stime (and of waited-for children) in ms, RSS and peak RSS in KiB; null if the process is gone. */
export function procStat(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may hold spaces and parentheses: fields start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    return {
      cpuMs: ((Number(f[11]) + Number(f[12])) * 1000) / tck,
      childCpuMs: ((Number(f[13]) + Number(f[14])) * 1000) / tck,
      rssKb: kb('VmRSS'),
      hwmKb: kb('VmHWM'),
      threads: kb('Threads'),
    };
  } catch {
    return null;
  }
}

/** Pids whose comm is `name`. */
export function pidsNamed(name) {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() === name) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** The pid listening on 127.0.0.1:`port` (via ss), or null. */
export function pidListening(port) {
  try {
    const out = execFileSync('ss', ['-Hltnp', `sport = :${port}`], { encoding: 'utf8' });
    const m = /pid=(\d+)/.exec(out);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Whole-machine CPU counters (ms, all cores) from /proc/stat. */
export function machineCpu() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = f[3] + f[4];
  return { totalMs: (total * 1000) / tck, busyMs: ((total - idle) * 1000) / tck };
}

/**
 * CPU ms used by a set of pids since `start()`. Processes that end before their last
 * `sample()` lose what they used since the previous one, so sample before they end.
 */
export class CpuMeter {
  constructor() {
    this.first = new Map();
    this.last = new Map();
  }
  /** The pids running at the start: counted from now. */
  start(pids) {
    for (const pid of pids) {
      const s = procStat(pid);
      if (!s) continue;
      this.first.set(pid, s.cpuMs);
      this.last.set(pid, s.cpuMs);
    }
  }
  /** Latest figures; a pid not seen at start() is counted from its beginning. */
  sample(pids) {
    for (const pid of pids) {
      const s = procStat(pid);
      if (!s) continue;
      if (!this.first.has(pid)) this.first.set(pid, 0);
      this.last.set(pid, s.cpuMs);
    }
  }
  /** CPU ms since each pid's first sample. */
  total() {
    let sum = 0;
    for (const [pid, v] of this.last) sum += v - this.first.get(pid);
    return sum;
  }
}
