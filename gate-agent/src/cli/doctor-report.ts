/**
 * `gatectl doctor` / `kioskctl doctor`: what one check returns, and how a list of them is
 * printed. Every check is a pure function from probe results to a CheckResult; the words a
 * technician reads on failure (what it means, what to do) live in one catalogue
 * (doctor-problems.ts), which docs/doctor.md is generated from.
 */

/** pass: nothing to do. warn: works now, will not for long, or could not be told. fail: broken now. */
export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface CheckResult {
  /** Fixed ids the operations manual refers to: config, device:<name>, relay, clock, disk, … */
  id: string;
  status: CheckStatus;
  /** What was found, one line. */
  detail: string;
  /** What to do, in a technician's words; null when it passed. */
  fix: string | null;
  /** The catalogue key of the problem found (e.g. "disk.read_only"); null when it passed. */
  problem: string | null;
}

/** One entry of the catalogue: what a finding means and what to do. `{name}` is filled in from the finding. */
export interface ProblemText {
  /** The check it belongs to (`device` stands for every device:<name>). */
  check: string;
  status: Exclude<CheckStatus, 'pass'>;
  /** What it means, for the doc table. */
  means: string;
  /** What to do, with {placeholders}. */
  fix: string;
}

/** Which daemon, CLI and config file the fix texts name. */
export interface Role {
  unit: string;
  ctl: string;
  config: string;
  user: string;
}

/** Fill `{name}` placeholders; an unknown one stays visible as <name> rather than vanishing. */
export function fillFix(template: string, params: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (_, k: string) => (params[k] !== undefined ? String(params[k]) : `<${k}>`));
}

export function passed(id: string, detail: string): CheckResult {
  return { id, status: 'pass', detail, fix: null, problem: null };
}

/**
 * A finding of problem `key` from `catalogue`: its status and fix come from there, so the
 * printed fix and the documented one cannot drift apart.
 */
export function found(
  catalogue: Record<string, ProblemText>,
  id: string,
  key: string,
  detail: string,
  params: Record<string, string | number> = {},
): CheckResult {
  const p = catalogue[key];
  if (!p) throw new Error(`doctor: no catalogue entry "${key}"`);
  return { id, status: p.status, detail, fix: fillFix(p.fix, params), problem: key };
}

/** 0 only when every check passed: a warning is something to look at, so scripts see it too. */
export function doctorExitCode(results: readonly CheckResult[]): number {
  return results.every((r) => r.status === 'pass') ? 0 : 1;
}

const MARK: Record<CheckStatus, string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL' };

/**
 * One line per check: `PASS  disk        31.2 GB free (82 %) on /var/lib/stile`, and for
 * anything else the fix on the same line after "→". Words rather than ✔/✘: they survive a
 * serial console, a photo of the screen and grep. Then one summary line.
 */
export function doctorLines(results: readonly CheckResult[]): string[] {
  const width = Math.min(24, Math.max(8, ...results.map((r) => r.id.length)));
  const lines = results.map((r) => `${MARK[r.status]}  ${r.id.padEnd(width)}  ${r.detail}${r.fix ? ` → ${r.fix}` : ''}`);
  const count = (s: CheckStatus) => results.filter((r) => r.status === s).length;
  const [w, f] = [count('warn'), count('fail')];
  lines.push(`${results.length} checks: ${count('pass')} passed, ${w} warning${w === 1 ? '' : 's'}, ${f} failed${w + f === 0 ? '' : ' (exit code 1)'}`);
  return lines;
}
