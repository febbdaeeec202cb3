import { isValidIdNumber, maskIdNumber } from '@stile/config';

/** gatectl output: --json prints one JSON document; otherwise short human lines. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
    /** Stable code for `--json` errors; defaults to USAGE for exit code 2, FAILED otherwise. */
    readonly code: string = exitCode === 2 ? 'USAGE' : 'FAILED',
  ) {
    super(message);
  }
}

/**
 * Mask anything in `text` that is a checksum-valid 18-character ID number. A safety net
 * for messages that echo what the technician typed (an ID number given where a ticket
 * id or command was expected): personal data never reaches the screen or a log in full.
 */
export function redactIdNumbers(text: string): string {
  return text.replace(/(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])/g, (m) => (isValidIdNumber(m) ? maskIdNumber(m) : m));
}

export interface Out {
  json: boolean;
  /** Print `data` as JSON, or `human()`'s lines. */
  result(data: unknown, human: () => string | string[]): void;
}

export function makeOut(json: boolean, write: (s: string) => void = (s) => process.stdout.write(s)): Out {
  return {
    json,
    result(data, human) {
      if (json) {
        write(`${JSON.stringify(data, null, 2)}\n`);
        return;
      }
      const text = human();
      write(`${Array.isArray(text) ? text.join('\n') : text}\n`);
    },
  };
}

/** Left-aligned columns for small tables. */
export function table(rows: (string | number | null | undefined)[][]): string[] {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))));
  const widths = cells[0]?.map((_, i) => Math.max(...cells.map((r) => r[i]?.length ?? 0))) ?? [];
  return cells.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd());
}

/**
 * A CLI's failure (gatectl, kioskctl): one line on stderr (plus a JSON error on stdout with
 * --json); further lines only for a list of problems. ID numbers are masked in both.
 */
export function reportFailure(tool: string, json: boolean, code: string, message: string): void {
  const [first = '', ...more] = redactIdNumbers(message).split('\n');
  if (json) process.stdout.write(`${JSON.stringify({ error: { code, message: redactIdNumbers(message) } })}\n`);
  // One line for scripts and tired technicians; a config with several errors lists the rest after it.
  process.stderr.write(`${tool}: ${first}${more.length ? ` (and ${more.length} more problem${more.length > 1 ? 's' : ''}:)` : ''}\n`);
  if (more.length) process.stderr.write(`${more.map((l) => `  ${l}`).join('\n')}\n`);
}
