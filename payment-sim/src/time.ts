/** Beijing time (UTC+8, no DST) as the providers write it. Written here, not shared with the client. */

function shifted(at: Date): string {
  return new Date(at.getTime() + 8 * 3_600_000).toISOString();
}

/** 2024-05-01T12:00:00+08:00 */
export function rfc3339(at: Date): string {
  return `${shifted(at).slice(0, 19)}+08:00`;
}

/** 2024-05-01 12:00:00 */
export function plain(at: Date): string {
  return shifted(at).slice(0, 19).replace('T', ' ');
}

/** 2024-05-01 */
export function beijingDate(at: Date): string {
  return shifted(at).slice(0, 10);
}

/** "2024-05-01 12:00:00" or RFC 3339 → Date, undefined if neither. */
export function parseTime(text: string): Date | undefined {
  let d: Date;
  if (/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(text)) d = new Date(`${text.replace(' ', 'T')}+08:00`);
  else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)$/.test(text)) d = new Date(text);
  else return undefined;
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** 1234 → "12.34" */
export function yuan(fen: number): string {
  const neg = fen < 0;
  const a = Math.abs(fen);
  return `${neg ? '-' : ''}${Math.trunc(a / 100)}.${(a % 100).toString().padStart(2, '0')}`;
}

/** "12.34" → 1234; undefined unless 1–2 decimals at most and positive-looking. */
export function fen(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  const m = /^(\d+)(?:\.(\d{1,2}))?$/.exec(text);
  if (m === null) return undefined;
  return Number(m[1]) * 100 + Number((m[2] ?? '0').padEnd(2, '0'));
}
