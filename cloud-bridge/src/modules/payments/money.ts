/**
 * Amounts. Everything in Stile is integer fen; WeChat Pay v3 speaks fen too, Alipay and both
 * bill files speak yuan as decimal text ("88.88"). These two functions are the only place
 * the two meet, and neither goes through floating point.
 */

/** 8888 → "88.88", 5 → "0.05", -120 → "-1.20". */
export function fenToYuan(fen: number): string {
  if (!Number.isSafeInteger(fen)) throw new RangeError(`not an integer amount of fen: ${fen}`);
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(fen);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

const YUAN = /^(-?)(\d{1,13})(?:\.(\d{1,2}))?$/;

/** "88.88" → 8888, "1" → 100, "0.5" → 50, "-0.01" → -1; undefined for anything else ("1e3", "1.234", " 1", ""). */
export function yuanToFen(text: string): number | undefined {
  const m = YUAN.exec(text);
  if (m === null) return undefined;
  const fen = Number(m[2]) * 100 + Number((m[3] ?? '').padEnd(2, '0'));
  return m[1] === '-' ? -fen : fen;
}
