/** `stile-sim visitors …`: make one gate per lane, wait for the gate, play the flow, report. */
import { parseArgs } from 'node:util';
import { startSimGate, type SimGate } from '../sim-gate.js';
import { loadIdCards, loadWhitelistCodes } from '../visitor-codes.js';
import { VISITOR_KINDS, playVisitors, type VisitorCodes, type VisitorKind, type VisitorReport, type VisitorResult } from '../visitors.js';
import { DEVICE_OPTIONS, DEVICE_USAGE, durationOption, gateOptions, intOption, parseMix, usageError } from './options.js';
import { onStopSignal, printer } from './output.js';
import type { Print } from './console.js';

export const VISITORS_USAGE = `usage: stile-sim visitors --rate <per min> (--count <n> | --duration <60s>) [options]
  --whitelist <file>     NDJSON whitelist snapshot: today's unused tickets are the valid QR codes,
                         earlier days' the expired ones (codes are "ST1:<ticketId>")
  --idcards <file>       ID numbers bound to valid tickets, one a line (optional name after it)
  --mix <k=w,…>          weights of validQr, idCard, expired, forged, duplicate
                         (default validQr=80,forged=10,duplicate=10, +idCard=10, +expired=5 when files allow)
  --lanes <n>            lanes, each a gate with its own devices (prefix laneN-), default 1
  --window <ms>          a scan is admitted if the relay switches on within this (default 2000)
  --id-window <ms>       the same for ID cards, from placing the card (default 4000)
  --settle <ms>          relay quiet time before the lane takes the next visitor (default 400)
  --arrivals uniform|poisson   (default uniform)
  --seed <n>             kind mix and arrivals (default 1)
  --delay <ms>           wait after making the devices, for the gate to open them (default 3000)
  --wait-poll            instead, start when every lane's ID reader has been polled
  --today <YYYY-MM-DD>   the park's date for the whitelist (default today in --tz)
  --tz <zone>            default Asia/Shanghai
  --quiet                no line per visitor
  --results              include every visitor in the --json report
${DEVICE_USAGE}`;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function codesFrom(v: { whitelist?: string; idcards?: string; today?: string; tz?: string }): Promise<{ codes: VisitorCodes; counts: Record<string, number> }> {
  const codes: VisitorCodes = {};
  const counts: Record<string, number> = {};
  if (v.whitelist) {
    const wl = await loadWhitelistCodes(v.whitelist, { ...(v.today ? { today: v.today } : {}), ...(v.tz ? { timeZone: v.tz } : {}) });
    Object.assign(codes, wl.codes);
    counts.validQr = wl.valid.length;
    counts.expired = wl.expired.length;
  }
  if (v.idcards) {
    const ids = await loadIdCards(v.idcards);
    codes.idCard = ids.idCard;
    counts.idCard = ids.cards.length;
  }
  return { codes, counts };
}

function defaultMix(counts: Record<string, number>): Partial<Record<VisitorKind, number>> {
  return { validQr: 80, forged: 10, duplicate: 10, ...(counts.idCard ? { idCard: 10 } : {}), ...(counts.expired ? { expired: 5 } : {}) };
}

async function waitForPolls(gates: SimGate[], print: Print): Promise<void> {
  print('waiting', 'waiting for the gate to poll the ID reader(s)…');
  await Promise.all(
    gates.map(
      (g) =>
        new Promise<void>((r) => {
          if (!g.idReader || g.idReader.requests > 0) return r();
          g.idReader.events.once('request', () => r());
        }),
    ),
  );
}

function describe(r: VisitorResult): string {
  const lat = r.latencyMs === null ? '' : ` ${r.latencyMs.toFixed(1)} ms`;
  const flag = (r.outcome === 'admitted' || r.outcome === 'rejected') && r.outcome !== r.expected ? '  UNEXPECTED' : '';
  return `#${r.seq} lane${r.lane + 1} ${r.kind.padEnd(9)} ${r.outcome}${lat}${r.pulses > 1 ? ` ×${r.pulses}` : ''}${r.error ? ` (${r.error})` : ''} ${r.code ?? ''}${flag}`;
}

export function formatReport(rep: VisitorReport): string {
  const ms = (x: number | undefined) => (x === undefined ? '-' : `${x.toFixed(1)}`);
  const rows = VISITOR_KINDS.filter((k) => rep.byKind[k].visitors > 0).map((k) => {
    const s = rep.byKind[k];
    return `  ${k.padEnd(10)}${String(s.visitors).padStart(9)}${String(s.admitted).padStart(9)}${String(s.rejected).padStart(9)}${String(s.skipped + s.errors).padStart(9)}${ms(s.latencyMs?.p50).padStart(9)}${ms(s.latencyMs?.p99).padStart(9)}`;
  });
  const l = rep.latencyMs;
  return [
    `visitors ${rep.visitors}  admitted ${rep.admitted}  rejected ${rep.rejected}  skipped ${rep.skipped}  errors ${rep.errors}  unexpected ${rep.unexpected}  late pulses ${rep.latePulses}  (${(rep.durationMs / 1000).toFixed(1)} s)`,
    `  kind       visitors admitted rejected  skipped  p50 ms   p99 ms`,
    ...rows,
    l ? `latency last byte → relay ON: p50 ${ms(l.p50)} ms  p90 ${ms(l.p90)} ms  p99 ${ms(l.p99)} ms  max ${ms(l.max)} ms  (n=${l.count})` : 'latency: no admissions',
  ].join('\n');
}

export async function runVisitors(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      ...DEVICE_OPTIONS,
      rate: { type: 'string' },
      count: { type: 'string' },
      duration: { type: 'string' },
      whitelist: { type: 'string' },
      idcards: { type: 'string' },
      mix: { type: 'string' },
      lanes: { type: 'string' },
      window: { type: 'string' },
      'id-window': { type: 'string' },
      settle: { type: 'string' },
      arrivals: { type: 'string' },
      seed: { type: 'string' },
      delay: { type: 'string' },
      'wait-poll': { type: 'boolean', default: false },
      today: { type: 'string' },
      tz: { type: 'string' },
      quiet: { type: 'boolean', default: false },
      results: { type: 'boolean', default: false },
    },
  });
  if (v.help) {
    process.stdout.write(`${VISITORS_USAGE}\n`);
    return 0;
  }
  const print = printer(v.json);
  const ratePerMin = Number(v.rate);
  if (!(ratePerMin > 0)) throw usageError('--rate <visitors per minute> is required');
  const count = intOption('count', v.count, 1, 10_000_000);
  const durationMs = durationOption('duration', v.duration);
  if (count === undefined && durationMs === undefined) throw usageError('give --count or --duration');
  if (v.arrivals !== undefined && v.arrivals !== 'uniform' && v.arrivals !== 'poisson') throw usageError('--arrivals uniform|poisson');
  const lanes = intOption('lanes', v.lanes, 1, 16) ?? 1;
  const { codes, counts } = await codesFrom(v);
  const mix = v.mix ? parseMix(v.mix) : defaultMix(counts);

  const gates: SimGate[] = [];
  const abort = new AbortController();
  onStopSignal(async () => {
    abort.abort();
    await Promise.all(gates.map((g) => g.close()));
  });
  try {
    for (let i = 0; i < lanes; i++) gates.push(await startSimGate(gateOptions(v, lanes > 1 ? `lane${i + 1}-` : undefined)));
    print('ready', gates.map((g, i) => `# lane ${i + 1}\n${g.gateYaml()}`).join('\n'), { lanes: gates.map((g) => ({ paths: g.paths, channel: g.channel })), codes: counts });
    if (v['wait-poll']) await waitForPolls(gates, print);
    else await sleep(intOption('delay', v.delay, 0, 600_000) ?? 3000);
    print('start', `playing visitors at ${ratePerMin}/min…`, { ratePerMin, mix });
    const report = await playVisitors({
      lanes: gates,
      ratePerMin,
      mix,
      codes,
      ...(count !== undefined ? { count } : {}),
      ...(durationMs !== undefined ? { durationMs } : {}),
      ...(v.window ? { admitWindowMs: intOption('window', v.window, 1, 600_000) as number } : {}),
      ...(v['id-window'] ? { idCardWindowMs: intOption('id-window', v['id-window'], 1, 600_000) as number } : {}),
      ...(v.settle ? { settleMs: intOption('settle', v.settle, 0, 60_000) as number } : {}),
      ...(v.arrivals ? { arrivals: v.arrivals as 'uniform' | 'poisson' } : {}),
      seed: intOption('seed', v.seed, 0, 2 ** 31) ?? 1,
      signal: abort.signal,
      ...(v.quiet ? {} : { onVisitor: (r: VisitorResult) => print('visitor', describe(r), { ...r }) }),
    });
    const { results, ...summary } = report;
    print('report', formatReport(report), v.results ? { ...report } : summary);
    void results;
    return report.errors > 0 || report.unexpected > 0 ? 1 : 0;
  } finally {
    await Promise.all(gates.map((g) => g.close()));
  }
}
