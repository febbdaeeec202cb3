/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4), for the tests:
 * every line must be a HELP, a TYPE or a sample of a declared family, labels well quoted,
 * values numbers. Throws on the first line that is not.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function parsePromText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const lines = text.split('\n');
  if (lines.at(-1) !== '') throw new Error('the text must end with a newline');
  lines.forEach((line, i) => {
    const at = `line ${i + 1}: ${line}`;
    if (line === '') return;
    if (line.startsWith('# HELP ')) {
      const m = /^# HELP (\S+) (.*)$/.exec(line);
      if (!m || !NAME.test(m[1]!)) throw new Error(`bad HELP, ${at}`);
      family(families, m[1]!).help = m[2]!;
    } else if (line.startsWith('# TYPE ')) {
      const m = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
      if (!m || !NAME.test(m[1]!)) throw new Error(`bad TYPE, ${at}`);
      const f = family(families, m[1]!);
      if (f.samples.length > 0) throw new Error(`TYPE after samples, ${at}`);
      f.type = m[2] as Family['type'];
    } else if (line.startsWith('#')) {
      return; // a comment
    } else {
      const s = parseSample(line, at);
      const f = families.get(s.name) ?? families.get(s.name.replace(/_(bucket|sum|count)$/, ''));
      if (!f) throw new Error(`sample of an undeclared family, ${at}`);
      if (f.name !== s.name && f.type !== 'histogram' && f.type !== 'summary') throw new Error(`suffix on a ${f.type}, ${at}`);
      f.samples.push(s);
    }
  });
  return families;
}

function family(families: Map<string, Family>, name: string): Family {
  let f = families.get(name);
  if (!f) families.set(name, (f = { name, type: 'untyped', help: '', samples: [] }));
  return f;
}

function parseSample(line: string, at: string): Sample {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/.exec(line);
  if (!m) throw new Error(`bad sample, ${at}`);
  const labels: Record<string, string> = {};
  let rest = m[3] ?? '';
  while (rest.length > 0) {
    const l = /^([^=]+)="((?:[^"\\]|\\["\\n])*)"(,|$)/.exec(rest);
    if (!l || !LABEL.test(l[1]!)) throw new Error(`bad label, ${at}`);
    labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1');
    rest = rest.slice(l[0].length);
  }
  // As Prometheus reads them (Go's ParseFloat): NaN and Inf in any case (prom-client writes "Nan").
  const raw = m[4]!.toLowerCase();
  const special: Record<string, number> = { nan: NaN, '+inf': Infinity, inf: Infinity, '-inf': -Infinity };
  const value = raw in special ? special[raw]! : /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/.test(raw) ? Number(raw) : NaN;
  if (Number.isNaN(value) && raw !== 'nan') throw new Error(`bad value, ${at}`);
  return { name: m[1]!, labels, value };
}

/** The value of the one sample `name` with exactly these labels (among others) — undefined when absent. */
export function valueOf(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const f = families.get(name) ?? families.get(name.replace(/_(bucket|sum|count)$/, ''));
  const s = f?.samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s?.value;
}

/** GET a metrics URL and parse it; throws unless it is 200 Prometheus text. */
export async function scrape(url: string, headers: Record<string, string> = {}): Promise<Map<string, Family>> {
  const res = await fetch(url, { headers });
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  const type = res.headers.get('content-type') ?? '';
  if (!type.startsWith('text/plain; version=0.0.4')) throw new Error(`${url}: content-type ${type}`);
  return parsePromText(await res.text());
}
