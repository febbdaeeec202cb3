/*
 * A POS day's export as CSV (RFC 4180: a header row, commas, "quoted" fields with "" for a
 * quote and line breaks inside quotes, CRLF or LF, an optional UTF-8 BOM) made into line
 * objects for checkLine(). Pure; a file it cannot read is one error naming the line.
 */

/** A data row of the file: its line number (the header is line 1) and its fields. */
export interface CsvRecord {
  csvLine: number;
  fields: string[];
}

export type CsvParse = { ok: true; records: CsvRecord[] } | { ok: false; error: string };

/** Split CSV text into records with the line number each starts on; blank lines are skipped. */
export function parseCsv(input: string): CsvParse {
  const s = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  const records: CsvRecord[] = [];
  let line = 1;
  let i = 0;
  while (i < s.length) {
    const start = line;
    const fields: string[] = [];
    for (;;) {
      let field = '';
      if (s[i] === '"') {
        i++;
        for (;;) {
          if (i >= s.length) return { ok: false, error: `line ${start}: a quoted field is not closed (a " is missing)` };
          const c = s[i]!;
          if (c === '"') {
            if (s[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\n') line++;
          field += c;
          i++;
        }
        // After the closing quote only a separator or the end of the record may come.
        if (i < s.length && s[i] !== ',' && s[i] !== '\n' && s[i] !== '\r') return { ok: false, error: `line ${line}: text after a closing quote (write a quote inside a quoted field as "")` };
      } else {
        while (i < s.length && s[i] !== ',' && s[i] !== '\n' && s[i] !== '\r') field += s[i++];
      }
      fields.push(field);
      if (s[i] === ',') {
        i++;
        continue;
      }
      break;
    }
    if (s[i] === '\r') i++;
    if (s[i] === '\n') i++;
    line++;
    if (!(fields.length === 1 && fields[0]!.trim() === '')) records.push({ csvLine: start, fields });
  }
  return { ok: true, records };
}

/** The documented columns (names match case-insensitively, `_` and spaces ignored: line_id = lineId). */
export const CSV_COLUMNS = ['lineId', 'at', 'amountFen', 'amountYuan', 'category', 'item', 'memberCode', 'ticketCode', 'phone', 'couponCode'] as const;
type Column = (typeof CSV_COLUMNS)[number];
const BY_KEY = new Map<string, Column>(CSV_COLUMNS.map((c) => [c.toLowerCase(), c]));

/** A data row as a line object for checkLine(), with its line number. */
export interface CsvLine {
  csvLine: number;
  raw: Record<string, unknown>;
  /** Set when the row cannot be a line at all (wrong number of fields). */
  problem?: string;
}

export type CsvLines = { ok: true; lines: CsvLine[] } | { ok: false; error: string };

/** Yuan as text ("48", "48.5", "48.50") in whole fen, without floating point; undefined when it is not that. */
export function yuanToFen(s: string): number | undefined {
  const m = /^(\d{1,9})(?:\.(\d{1,2}))?$/.exec(s);
  return m ? Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0')) : undefined;
}

/**
 * The file's rows as line objects. The header must name lineId, at, category and one of
 * amountFen / amountYuan, and nothing unknown; a row with the wrong number of fields
 * becomes a line checkLine() refuses, with what is wrong.
 */
export function csvToLines(input: string): CsvLines {
  const parsed = parseCsv(input);
  if (!parsed.ok) return parsed;
  const [header, ...rows] = parsed.records;
  if (!header) return { ok: false, error: 'the file is empty: a header row is required' };
  const columns: Column[] = [];
  for (const [n, name] of header.fields.entries()) {
    const col = BY_KEY.get(name.replace(/[\s_]/g, '').toLowerCase());
    if (!col) return { ok: false, error: `line ${header.csvLine}: column ${n + 1} "${name.slice(0, 40)}" is not one of ${CSV_COLUMNS.join(', ')}` };
    if (columns.includes(col)) return { ok: false, error: `line ${header.csvLine}: column ${col} twice` };
    columns.push(col);
  }
  const missing = (['lineId', 'at', 'category'] as const).filter((c) => !columns.includes(c));
  if (missing.length > 0) return { ok: false, error: `line ${header.csvLine}: the header lacks ${missing.join(', ')}` };
  if (columns.includes('amountFen') === columns.includes('amountYuan')) return { ok: false, error: `line ${header.csvLine}: the header needs exactly one of amountFen, amountYuan` };
  if (!columns.some((c) => c === 'memberCode' || c === 'ticketCode' || c === 'phone')) return { ok: false, error: `line ${header.csvLine}: the header needs memberCode, ticketCode or phone (how a line finds its visit)` };
  const lines = rows.map(({ csvLine, fields }): CsvLine => {
    if (fields.length !== columns.length) return { csvLine, raw: { lineId: fields[columns.indexOf('lineId')] }, problem: `${fields.length} fields, the header has ${columns.length}` };
    const raw: Record<string, unknown> = {};
    columns.forEach((col, k) => {
      const v = fields[k]!.trim();
      if (v === '') return;
      if (col === 'amountFen') raw.amountFen = /^\d{1,15}$/.test(v) ? Number(v) : v;
      else if (col === 'amountYuan') raw.amountFen = yuanToFen(v) ?? `${v} yuan`;
      else raw[col] = v;
    });
    return { csvLine, raw };
  });
  return { ok: true, lines };
}
