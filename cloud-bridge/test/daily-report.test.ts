import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { localDateHour } from '@stile/config';
import {
  buildDailyReport,
  formatFen,
  localizeReport,
  reportToCsv,
  reportToHtml,
  type DailyReport,
  type EntryRecord,
  type RefundRecord,
  type ReportInput,
  type SaleRecord,
} from '../src/modules/reports/daily-report.js';

// Fixture day: 2024-05-01 at a park in Asia/Shanghai (UTC+8, no DST). Local midnight is 16:00Z
// of the previous UTC day, so every timestamp below is written in UTC and commented in local time.
const NOW = new Date('2024-05-02T01:00:00Z');

const sale = (orderId: string, channel: string, typeId: string, persons: number, amountFen: number, paidAt: string): SaleRecord => {
  const names: Record<string, string> = { adult: '成人票', child: '儿童票', senior: '老人票', family: '家庭套票' };
  return { orderId, channel, typeId, typeName: names[typeId] ?? typeId, persons, amountFen, paidAt };
};
const entry = (at: string, persons: number, gate = 'north-1'): EntryRecord => ({ at, gate, persons, kind: 'admit' });

const SALES: SaleRecord[] = [
  sale('o1', 'wechat', 'adult', 2, 16000, '2024-05-01T00:10:00Z'), // 08:10, two lines of one order
  sale('o1', 'wechat', 'child', 1, 4000, '2024-05-01T00:10:00Z'),
  sale('o2', 'ota', 'adult', 4, 32000, '2024-05-01T01:00:00Z'), // 09:00
  sale('o3', 'window', 'senior', 1, 4000, '2024-05-01T02:00:00Z'), // 10:00
  sale('o4', 'window', 'family', 3, 15000, '2024-05-01T03:00:00Z'), // 11:00
  sale('o5', 'wechat', 'adult', 1, 8000, '2024-05-01T15:30:00Z'), // 23:30 local: still May 1
  sale('o6', 'ota', 'adult', 10, 80000, '2024-04-30T15:59:59Z'), // 23:59:59 Apr 30: excluded
  sale('o7', 'window', 'adult', 5, 40000, '2024-05-01T16:00:00Z'), // 00:00 May 2: excluded
  sale('o8', 'ota', 'child', 2, 8000, '2024-05-01T06:00:00Z'), // 14:00
  sale('o9', 'window', 'adult', 1, 8000, '2024-05-01T05:00:00Z'), // 13:00
];

const REFUNDS: RefundRecord[] = [
  { orderId: 'o2', channel: 'ota', amountFen: 8000, reason: 'weather', reasonLabel: '天气原因', at: '2024-05-01T04:00:00Z' },
  { orderId: 'o8', channel: 'ota', amountFen: 4000, reason: 'weather', at: '2024-05-01T07:00:00Z' }, // no label: the code's label is reused
  { orderId: 'o3', channel: 'window', amountFen: 4000, reason: 'changed_plans', reasonLabel: '行程变更', at: '2024-05-01T08:00:00Z' },
  { orderId: 'o6', channel: 'ota', amountFen: 8000, reason: 'weather', reasonLabel: '天气原因', at: '2024-04-30T15:00:00Z' }, // 23:00 Apr 30: excluded
];

const ENTRIES: EntryRecord[] = [
  entry('2024-04-30T15:59:59Z', 50), // 23:59:59 Apr 30: excluded
  entry('2024-04-30T16:00:00Z', 1), // 00:00 May 1 → hour 0
  entry('2024-05-01T00:05:00Z', 3), // 08
  entry('2024-05-01T00:45:00Z', 2, 'south-1'),
  entry('2024-05-01T01:00:00Z', 4), // 09
  entry('2024-05-01T01:20:00Z', 4),
  entry('2024-05-01T01:59:59Z', 4, 'south-1'),
  entry('2024-05-01T02:00:00Z', 10), // 10: the peak
  entry('2024-05-01T02:30:00Z', 10, 'south-1'),
  entry('2024-05-01T02:59:00Z', 10),
  entry('2024-05-01T03:10:00Z', 12), // 11
  entry('2024-05-01T03:40:00Z', 8),
  entry('2024-05-01T06:00:00Z', 8), // 14
  entry('2024-05-01T08:15:00Z', 4), // 16
  entry('2024-05-01T15:59:59Z', 1), // 23:59:59 May 1 → hour 23
  entry('2024-05-01T16:00:00Z', 40), // 00:00 May 2: excluded
];

const INPUT: ReportInput = {
  site: 'west-lake',
  siteName: '西湖景区',
  date: '2024-05-01',
  timeZone: 'Asia/Shanghai',
  capacity: 200,
  currency: 'CNY',
  sales: SALES,
  refunds: REFUNDS,
  entries: ENTRIES,
};

const EMPTY: ReportInput = { site: 'west-lake', date: '2024-05-01', timeZone: 'Asia/Shanghai', currency: 'CNY', sales: [], refunds: [], entries: [] };

/** Minimal RFC 4180 reader: quoted fields, doubled quotes, CRLF records. Blank lines come back as [''] records. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  const endField = () => {
    row.push(field);
    field = '';
  };
  while (i < text.length) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === '') {
      quoted = true;
    } else if (ch === ',') {
      endField();
    } else if (ch === '\r' && text[i + 1] === '\n') {
      endField();
      rows.push(row);
      row = [];
      i += 2;
      continue;
    } else if (ch === '\r' || ch === '\n') {
      throw new Error(`bare line break at ${i}`);
    } else {
      field += ch;
    }
    i++;
  }
  if (quoted) throw new Error('unterminated quote');
  if (field !== '' || row.length) throw new Error('last record not terminated by CRLF');
  return rows;
}

/** Split parsed records into sections at blank records. */
function sections(rows: string[][]): string[][][] {
  const out: string[][][] = [[]];
  for (const r of rows) {
    if (r.length === 1 && r[0] === '') out.push([]);
    else out[out.length - 1]!.push(r);
  }
  return out;
}

describe('buildDailyReport', () => {
  const r = buildDailyReport(INPUT, NOW);

  it('totals count only the local day, orders by distinct id', () => {
    expect(r.v).toBe(1);
    expect(r.site).toBe('west-lake');
    expect(r.date).toBe('2024-05-01');
    expect(r.generatedAt).toBe('2024-05-02T01:00:00.000Z');
    expect(r.totals).toEqual({ orders: 7, ticketsSold: 15, revenueFen: 95000, refundedFen: 16000, netRevenueFen: 79000, refunds: 3 });
  });

  it('channels sorted by revenue with revenue and persons shares', () => {
    expect(r.byChannel.map((c) => [c.channel, c.orders, c.persons, c.revenueFen, c.refundedFen])).toEqual([
      ['ota', 2, 6, 40000, 12000],
      ['wechat', 2, 4, 28000, 0],
      ['window', 3, 5, 27000, 4000],
    ]);
    expect(r.byChannel.map((c) => c.share)).toEqual([40 / 95, 28 / 95, 27 / 95]);
    expect(r.byChannel.map((c) => c.personsShare)).toEqual([6 / 15, 4 / 15, 5 / 15]);
    expect(r.byChannel.reduce((s, c) => s + c.share, 0)).toBeCloseTo(1, 12);
    expect(r.byChannel.reduce((s, c) => s + c.personsShare, 0)).toBeCloseTo(1, 12);
  });

  it('hour buckets are in the site time zone, with the day boundary at local midnight', () => {
    expect(r.entriesByHour).toHaveLength(24);
    expect(r.entriesByHour.map((b) => b.hour)).toEqual([...Array(24).keys()]);
    const nonZero = Object.fromEntries(r.entriesByHour.filter((b) => b.persons > 0).map((b) => [b.hour, b.persons]));
    expect(nonZero).toEqual({ 0: 1, 8: 5, 9: 12, 10: 30, 11: 20, 14: 8, 16: 4, 23: 1 });
    // In UTC the peak would have been hour 2: make sure nothing landed there.
    expect(r.entriesByHour[2]!.persons).toBe(0);
    expect(r.peakHour).toEqual({ hour: 10, persons: 30 });
    expect(r.totalEntries).toBe(81);
    expect(r.capacity).toBe(200);
    expect(r.capacityUsed).toBeCloseTo(0.405, 12);
  });

  it('refunds grouped by reason code, label taken from configuration or the code', () => {
    expect(r.refundsByReason).toEqual([
      { reason: 'weather', label: '天气原因', count: 2, amountFen: 12000 },
      { reason: 'changed_plans', label: '行程变更', count: 1, amountFen: 4000 },
    ]);
    const unlabeled = buildDailyReport({ ...EMPTY, refunds: [{ orderId: 'x', channel: 'ota', amountFen: 100, reason: 'other', at: '2024-05-01T04:00:00Z' }] }, NOW);
    expect(unlabeled.refundsByReason).toEqual([{ reason: 'other', label: 'other', count: 1, amountFen: 100 }]);
  });

  it('type mix by persons with shares summing to 1', () => {
    expect(r.typeMix).toEqual([
      { typeId: 'adult', typeName: '成人票', persons: 8, share: 8 / 15 },
      { typeId: 'child', typeName: '儿童票', persons: 3, share: 3 / 15 },
      { typeId: 'family', typeName: '家庭套票', persons: 3, share: 3 / 15 },
      { typeId: 'senior', typeName: '老人票', persons: 1, share: 1 / 15 },
    ]);
    expect(r.typeMix.reduce((s, m) => s + m.share, 0)).toBeCloseTo(1, 12);
  });

  it('is deterministic and JSON-safe', () => {
    const again = buildDailyReport({ ...INPUT, sales: [...SALES].reverse(), entries: [...ENTRIES].reverse() }, NOW);
    expect(again).toEqual(r);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });

  it('an empty day is a valid report with zeros', () => {
    const e = buildDailyReport(EMPTY, NOW);
    expect(e.totals).toEqual({ orders: 0, ticketsSold: 0, revenueFen: 0, refundedFen: 0, netRevenueFen: 0, refunds: 0 });
    expect(e.byChannel).toEqual([]);
    expect(e.entriesByHour).toEqual(Array.from({ length: 24 }, (_, hour) => ({ hour, persons: 0 })));
    expect(e.peakHour).toBeNull();
    expect(e.totalEntries).toBe(0);
    expect(e.refundsByReason).toEqual([]);
    expect(e.typeMix).toEqual([]);
    expect(e.capacityUsed).toBeUndefined();
    expect(buildDailyReport({ ...EMPTY, capacity: 100 }, NOW).capacityUsed).toBe(0);
  });

  it('a tie for the peak goes to the earliest hour', () => {
    const t = buildDailyReport({ ...EMPTY, entries: [entry('2024-05-01T07:00:00Z', 5), entry('2024-05-01T01:00:00Z', 5)] }, NOW);
    expect(t.peakHour).toEqual({ hour: 9, persons: 5 });
  });

  it('free tickets give persons shares but zero revenue shares', () => {
    const f = buildDailyReport({ ...EMPTY, sales: [sale('f1', 'window', 'child', 2, 0, '2024-05-01T02:00:00Z')] }, NOW);
    expect(f.byChannel).toEqual([{ channel: 'window', orders: 1, persons: 2, revenueFen: 0, refundedFen: 0, share: 0, personsShare: 1 }]);
  });

  it('net revenue goes negative when today refunds exceed today sales', () => {
    const n = buildDailyReport({ ...EMPTY, refunds: [REFUNDS[0]!] }, NOW);
    expect(n.totals.netRevenueFen).toBe(-8000);
    expect(n.byChannel).toEqual([{ channel: 'ota', orders: 0, persons: 0, revenueFen: 0, refundedFen: 8000, share: 0, personsShare: 0 }]);
  });

  it('uses local hours across a DST change (America/New_York, 2024-03-10 has no 02:00)', () => {
    const d = buildDailyReport(
      {
        ...EMPTY,
        timeZone: 'America/New_York',
        date: '2024-03-10',
        entries: [entry('2024-03-10T05:00:00Z', 1), entry('2024-03-10T06:59:00Z', 2), entry('2024-03-10T07:00:00Z', 3), entry('2024-03-11T03:59:00Z', 4), entry('2024-03-11T04:00:00Z', 99)],
      },
      NOW,
    );
    // 00:00 EST, 01:59 EST, 03:00 EDT, 23:59 EDT; 04:00Z on the 11th is the next local day.
    expect(d.entriesByHour.filter((b) => b.persons).map((b) => [b.hour, b.persons])).toEqual([[0, 1], [1, 2], [3, 3], [23, 4]]);
    expect(d.totalEntries).toBe(10);
  });

  it('ignores unparseable timestamps and rejects a bad date or zone', () => {
    expect(buildDailyReport({ ...EMPTY, entries: [entry('not a date', 5)] }, NOW).totalEntries).toBe(0);
    for (const date of ['2024-02-30', '2024-5-1']) expect(() => buildDailyReport({ ...EMPTY, date }, NOW)).toThrow(expect.objectContaining({ name: 'CloudError', code: 'invalid_date' }));
    expect(() => buildDailyReport({ ...EMPTY, timeZone: 'Mars/Olympus' }, NOW)).toThrow(expect.objectContaining({ code: 'config_invalid', message: expect.stringMatching(/time zone/) }));
  });

  it('localDateHour maps instants to the local calendar', () => {
    expect(localDateHour('2024-04-30T16:00:00Z', 'Asia/Shanghai')).toEqual({ date: '2024-05-01', hour: 0 });
    expect(localDateHour('2024-04-30T15:59:59.999Z', 'Asia/Shanghai')).toEqual({ date: '2024-04-30', hour: 23 });
    expect(localDateHour('2024-05-01T08:00:00+08:00', 'Asia/Shanghai')).toEqual({ date: '2024-05-01', hour: 8 });
  });
});

describe('formatFen', () => {
  it('formats integer fen without float drift', () => {
    expect(formatFen(8000)).toBe('80.00');
    expect(formatFen(5)).toBe('0.05');
    expect(formatFen(0)).toBe('0.00');
    expect(formatFen(-1999)).toBe('-19.99');
    expect(formatFen(10 + 20)).toBe('0.30'); // 0.1 + 0.2 in yuan would be 0.30000000000000004
    expect(formatFen(Number.MAX_SAFE_INTEGER)).toBe('90071992547409.91');
  });
});

describe('reportToCsv', () => {
  const r = buildDailyReport(INPUT, NOW);
  const csv = reportToCsv(r);

  it('is RFC 4180: CRLF only, sections separated by one blank line, each with a header', () => {
    expect(csv.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    expect(csv.endsWith('\r\n')).toBe(true);
    const secs = sections(parseCsv(csv));
    expect(secs.map((s) => s[0])).toEqual([
      ['metric', 'value'],
      ['channel', 'channel_name', 'orders', 'persons', 'revenue_yuan', 'revenue_share', 'persons_share', 'refunded_yuan'],
      ['hour', 'persons'],
      ['reason', 'label', 'count', 'amount_yuan'],
      ['type_id', 'type_name', 'persons', 'share'],
    ]);
    for (const s of secs) expect(new Set(s.map((row) => row.length)).size).toBe(1);
  });

  it('summary and sections carry the exact values, money as yuan with 2 decimals', () => {
    const [summary, channels, hours, reasons, mix] = sections(parseCsv(csv));
    const m = Object.fromEntries(summary!.slice(1));
    expect(m).toMatchObject({
      site: 'west-lake',
      site_name: '西湖景区',
      date: '2024-05-01',
      time_zone: 'Asia/Shanghai',
      currency: 'CNY',
      orders: '7',
      tickets_sold: '15',
      revenue_yuan: '950.00',
      refunded_yuan: '160.00',
      net_revenue_yuan: '790.00',
      refunds: '3',
      total_entries: '81',
      peak_hour: '10',
      peak_hour_persons: '30',
      capacity: '200',
      capacity_used: '0.4050',
      generated_at: '2024-05-02T01:00:00.000Z',
    });
    expect(channels!.slice(1)).toEqual([
      // No catalogue name for these channels: the name column repeats the id.
      ['ota', 'ota', '2', '6', '400.00', '0.4211', '0.4000', '120.00'],
      ['wechat', 'wechat', '2', '4', '280.00', '0.2947', '0.2667', '0.00'],
      ['window', 'window', '3', '5', '270.00', '0.2842', '0.3333', '40.00'],
    ]);
    expect(hours!.slice(1)).toHaveLength(24);
    expect(hours![11]).toEqual(['10', '30']);
    expect(reasons!.slice(1)).toEqual([
      ['weather', '天气原因', '2', '120.00'],
      ['changed_plans', '行程变更', '1', '40.00'],
    ]);
    expect(mix![1]).toEqual(['adult', '成人票', '8', '0.5333']);
    expect(csv).toContain('\r\nrevenue_yuan,950.00\r\n');
  });

  it('quotes commas, quotes and newlines and guards against formula injection', () => {
    const evil = buildDailyReport(
      {
        ...EMPTY,
        siteName: 'Lake, "North"',
        sales: [
          sale('a', '=HYPERLINK("http://x","y")', 'adult', 1, 8000, '2024-05-01T02:00:00Z'),
          sale('b', '+cmd', 'adult', 1, 100, '2024-05-01T02:00:00Z'),
          sale('c', '@SUM(A1)', 'adult', 1, 100, '2024-05-01T02:00:00Z'),
          { ...sale('d', 'multi\nline', 'vip', 1, 50, '2024-05-01T02:00:00Z'), typeName: '-2+3' },
        ],
        refunds: [{ orderId: 'a', channel: 'x', amountFen: 9000, reason: 'r', reasonLabel: '\tTab', at: '2024-05-01T03:00:00Z' }],
      },
      NOW,
    );
    const text = reportToCsv(evil);
    expect(text).toContain('\r\nsite_name,"Lake, ""North"""\r\n');
    expect(text).toContain('\r\n"\'=HYPERLINK(""http://x"",""y"")","\'=HYPERLINK(""http://x"",""y"")",1,1,80.00,');
    expect(text).toContain('\r\n"multi\nline",');
    const [summary, channels, , reasons, mix] = sections(parseCsv(text));
    expect(Object.fromEntries(summary!.slice(1)).site_name).toBe('Lake, "North"');
    // Our own negative numbers stay numbers; only text gets the apostrophe.
    expect(Object.fromEntries(summary!.slice(1)).net_revenue_yuan).toBe('-7.50');
    expect(channels!.slice(1).map((c) => c[0])).toEqual(['\'=HYPERLINK("http://x","y")', "'+cmd", "'@SUM(A1)", 'multi\nline', 'x']);
    expect(reasons![1]![1]).toBe("'\tTab");
    expect(mix!.slice(1).map((m) => m[1])).toContain("'-2+3");
    for (const cells of [channels!, reasons!, mix!]) for (const row of cells) for (const c of row) expect(c).not.toMatch(/^[=+@\t\r]/);
  });

  it('empty day still has every section and all 24 hours', () => {
    const secs = sections(parseCsv(reportToCsv(buildDailyReport(EMPTY, NOW))));
    expect(secs.map((s) => s.length)).toEqual([15, 1, 25, 1, 1]);
    expect(Object.fromEntries(secs[0]!.slice(1))).toMatchObject({ revenue_yuan: '0.00', peak_hour: '', peak_hour_persons: '' });
  });

  it('optional BOM for Excel', () => {
    expect(reportToCsv(buildDailyReport(EMPTY, NOW), { bom: true }).startsWith('\uFEFFmetric,value\r\n')).toBe(true);
    expect(csv.startsWith('metric,value\r\n')).toBe(true);
  });
});

describe('reportToHtml', () => {
  const r = buildDailyReport(INPUT, NOW);
  const zh = reportToHtml(r, { lang: 'zh-CN' });
  const en = reportToHtml(r, { lang: 'en' });

  const bars = (html: string): string[] => html.match(/<rect class="bar[^"]*"[^>]*>/g) ?? [];

  it('is a self-contained page with lang and title', () => {
    expect(zh.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(zh).toContain('<html lang="zh-CN">');
    expect(en).toContain('<html lang="en">');
    expect(zh).toMatch(/<title>西湖景区 · 每日报表 · 2024-05-01<\/title>/);
    expect(en).toMatch(/<title>西湖景区 · Daily report · 2024-05-01<\/title>/);
    for (const html of [zh, en]) {
      expect(html).toContain('<style>');
      expect(html).not.toMatch(/<script|<link|\bsrc=|\bhref=|@import|@font-face|url\(/i);
    }
  });

  it('hour chart: one SVG with 24 bars, the peak marked, tooltips, axis labels, accessible', () => {
    const svg = /<svg class="chart hours"[^>]*>[\s\S]*?<\/svg>/.exec(zh)![0];
    expect(svg).toMatch(/role="img"/);
    expect(svg).toMatch(/aria-label="[^"]*高峰时段 10:00–11:00, 30 人/);
    const b = bars(svg);
    expect(b).toHaveLength(24);
    const peaks = b.filter((x) => x.includes('data-peak="true"'));
    expect(peaks).toHaveLength(1);
    expect(peaks[0]).toContain('class="bar peak" data-hour="10"');
    expect(svg.match(/<title>/g)!.length).toBe(25); // one for the chart, one per bar
    expect(svg).toContain('<title>10:00–11:00: 30 人 (高峰)</title>');
    expect(svg).toContain('<title>23:00–24:00: 1 人</title>');
    for (const h of ['00', '06', '12', '23']) expect(svg).toContain(`text-anchor="middle">${h}</text>`);
    expect(svg).toContain('时段（当地时间）');
    // The peak bar is the tallest.
    const heights = b.map((x) => Number(/height="([\d.]+)"/.exec(x)![1]));
    expect(Math.max(...heights)).toBe(heights[10]);
  });

  it('channel share chart as horizontal SVG bars', () => {
    const svg = /<svg class="chart channels"[^>]*>[\s\S]*?<\/svg>/.exec(en)![0];
    expect(svg).toMatch(/role="img" aria-label="Bar chart of revenue share by channel: ota 42.1%, wechat 29.5%, window 28.4%"/);
    expect(svg.match(/<rect class="hbar"/g)).toHaveLength(3);
    expect(svg).toContain('42.1% · ¥400.00');
  });

  it('labels in both languages and the summary values', () => {
    for (const label of ['售票数', '收入', '入园人数', '高峰时段', '退款原因', '票种构成', '渠道占比']) expect(zh).toContain(label);
    for (const label of ['Tickets sold', 'Revenue', 'Entries', 'Peak hour', 'Refunds by reason', 'Ticket type mix', 'Share by channel']) expect(en).toContain(label);
    expect(en).not.toContain('售票数');
    expect(zh).toContain('¥950.00');
    expect(zh).toContain('¥790.00');
    expect(zh).toContain('40.5%');
    expect(zh).toContain('<td>天气原因</td><td class="num">2</td><td class="num">¥120.00</td>');
    expect(zh).toContain('<td>成人票</td><td class="num">8</td><td class="num">53.3%</td>');
  });

  it('escapes every input string', () => {
    const x = '<script>alert("x")</script>';
    const evil = buildDailyReport(
      {
        ...EMPTY,
        site: 's&"1',
        siteName: x,
        sales: [{ ...sale('a', x, 'adult', 1, 100, '2024-05-01T02:00:00Z'), typeName: x }],
        refunds: [{ orderId: 'a', channel: x, amountFen: 100, reason: x, reasonLabel: x, at: '2024-05-01T02:00:00Z' }],
      },
      NOW,
    );
    for (const lang of ['zh-CN', 'en'] as const) {
      const html = reportToHtml(evil, { lang });
      expect(html).not.toContain('<script');
      expect(html).not.toContain('alert("x")');
      expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
      expect(html).toContain('s&amp;&quot;1');
    }
  });

  it('empty day renders zeros, 24 empty bars and no peak', () => {
    const html = reportToHtml(buildDailyReport(EMPTY, NOW), { lang: 'en' });
    const b = bars(html);
    expect(b).toHaveLength(24);
    expect(b.every((x) => x.includes('height="0.0"') && !x.includes('peak'))).toBe(true);
    expect(html).toContain('aria-label="Bar chart of entries by hour: No entries on this day"');
    expect(html).toContain('¥0.00');
    expect(html).toContain('No data');
  });
});

describe('properties', () => {
  // Asia/Shanghai is a fixed UTC+8, so the expected local day is a plain UTC interval.
  const DAY_START = Date.parse('2024-04-30T16:00:00Z');
  const DAY_MS = 86_400_000;
  const instant = fc.integer({ min: DAY_START - DAY_MS, max: DAY_START + 2 * DAY_MS - 1 }).map((ms) => new Date(ms).toISOString());
  const saleArb = fc.record({
    orderId: fc.constantFrom('o1', 'o2', 'o3', 'o4', 'o5', 'o6'),
    channel: fc.constantFrom('ota', 'wechat', 'window', '=evil', 'a,b'),
    typeId: fc.constantFrom('adult', 'child', 'senior'),
    typeName: fc.string({ maxLength: 6 }),
    persons: fc.integer({ min: 1, max: 20 }),
    amountFen: fc.integer({ min: 0, max: 1_000_000 }),
    paidAt: instant,
  });
  const entryArb = fc.record({ at: instant, gate: fc.constantFrom('n1', 's1'), persons: fc.integer({ min: 1, max: 10 }), kind: fc.constant('admit' as const) });
  const refundArb = fc.record({
    orderId: fc.constant('o1'),
    channel: fc.constantFrom('ota', 'wechat', 'elsewhere'),
    amountFen: fc.integer({ min: 1, max: 100_000 }),
    reason: fc.constantFrom('weather', 'other'),
    at: instant,
  });

  it('channel revenue sums to total revenue, hours sum to total entries, shares sum to 1', () => {
    fc.assert(
      fc.property(fc.array(saleArb, { maxLength: 40 }), fc.array(entryArb, { maxLength: 60 }), fc.array(refundArb, { maxLength: 10 }), (sales, entries, refunds) => {
        const r: DailyReport = buildDailyReport({ ...EMPTY, sales, entries, refunds }, NOW);
        const onDay = (iso: string) => Date.parse(iso) >= DAY_START && Date.parse(iso) < DAY_START + DAY_MS;
        const sum = <T>(xs: readonly T[], f: (x: T) => number) => xs.reduce((s, x) => s + f(x), 0);

        expect(sum(r.byChannel, (c) => c.revenueFen)).toBe(r.totals.revenueFen);
        expect(sum(r.byChannel, (c) => c.persons)).toBe(r.totals.ticketsSold);
        expect(sum(r.byChannel, (c) => c.refundedFen)).toBe(r.totals.refundedFen);
        expect(sum(r.typeMix, (m) => m.persons)).toBe(r.totals.ticketsSold);
        expect(sum(r.refundsByReason, (x) => x.amountFen)).toBe(r.totals.refundedFen);
        expect(sum(r.entriesByHour, (b) => b.persons)).toBe(r.totalEntries);

        // Independent oracle for the day boundary and the local hour.
        expect(r.totals.revenueFen).toBe(sum(sales.filter((s) => onDay(s.paidAt)), (s) => s.amountFen));
        expect(r.totalEntries).toBe(sum(entries.filter((e) => onDay(e.at)), (e) => e.persons));
        for (const b of r.entriesByHour) {
          const expected = sum(entries.filter((e) => onDay(e.at) && Math.floor((Date.parse(e.at) - DAY_START) / 3_600_000) === b.hour), (e) => e.persons);
          expect(b.persons).toBe(expected);
        }

        const revShare = sum(r.byChannel, (c) => c.share);
        expect(r.totals.revenueFen > 0 ? Math.abs(revShare - 1) < 1e-9 : revShare === 0).toBe(true);
        const mixShare = sum(r.typeMix, (m) => m.share);
        expect(r.totals.ticketsSold > 0 ? Math.abs(mixShare - 1) < 1e-9 : mixShare === 0).toBe(true);
        expect(r.peakHour === null).toBe(r.totalEntries === 0);
        if (r.peakHour) expect(r.peakHour.persons).toBe(Math.max(...r.entriesByHour.map((b) => b.persons)));

        // Every rendering stays well-formed.
        const csvRows = parseCsv(reportToCsv(r));
        expect(sections(csvRows)).toHaveLength(5);
        expect(bars(reportToHtml(r, { lang: 'en' }))).toHaveLength(24);
      }),
      { numRuns: 200 },
    );
  });

  const bars = (html: string): string[] => html.match(/<rect class="bar[^"]*"[^>]*>/g) ?? [];
});

describe('names in the reader\'s language', () => {
  const ADULT = { 'zh-CN': '成人票', en: 'Adult' };
  const FAMILY = { 'zh-CN': '家庭套票', en: 'Family package' };
  const both = (s: SaleRecord): SaleRecord => ({ ...s, typeNames: s.typeId === 'family' ? FAMILY : ADULT });
  const r = buildDailyReport(
    {
      ...EMPTY,
      siteName: '青山湖风景区',
      siteNames: { 'zh-CN': '青山湖风景区', en: 'Qingshan Lake Scenic Area' },
      channelNames: { wechat: { 'zh-CN': '微信小程序', en: 'WeChat mini-program' } },
      sales: [both(sale('a', 'wechat', 'adult', 2, 16000, '2024-05-01T02:00:00Z')), both(sale('b', 'window', 'family', 3, 18000, '2024-05-01T03:00:00Z'))],
      refunds: [{ orderId: 'a', channel: 'wechat', amountFen: 8000, reason: 'weather', reasonLabel: '天气原因', reasonLabels: { 'zh-CN': '天气原因', en: 'Bad weather' }, at: '2024-05-01T04:00:00Z' }],
    },
    NOW,
  );
  const cells = (html: string): string[] => [...html.matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((m) => m[1]!);

  it('a zh-CN page: Chinese type, channel, reason and site names, no ids where a name exists', () => {
    const zh = reportToHtml(r, { lang: 'zh-CN' });
    expect(zh).toContain('<h1>青山湖风景区 · 每日报表</h1>');
    expect(cells(zh)).toEqual(expect.arrayContaining(['成人票', '家庭套票', '微信小程序', '天气原因']));
    // A channel without a catalogue name keeps its id; none of the named things shows an id or English.
    expect(cells(zh)).toContain('window');
    for (const text of ['adult', 'family', 'wechat', 'weather', 'Adult', 'Family package', 'WeChat', 'Bad weather', 'Qingshan']) expect(cells(zh), text).not.toContain(text);
    expect(zh).not.toMatch(/<h1>[^<]*west-lake/);
    expect(zh).toMatch(/<text class="clab"[^>]*>微信小程序<\/text>/);
  });

  it('an English page: English names throughout', () => {
    const en = reportToHtml(r, { lang: 'en' });
    expect(en).toContain('<title>Qingshan Lake Scenic Area · Daily report · 2024-05-01</title>');
    expect(cells(en)).toEqual(expect.arrayContaining(['Adult', 'Family package', 'WeChat mini-program', 'Bad weather']));
    expect(en).not.toMatch(/成人票|家庭套票|微信小程序|天气原因|青山湖/);
  });

  it('CSV in the asked language keeps the ids in their own columns', () => {
    const [summary, channels, , reasons, mix] = sections(parseCsv(reportToCsv(r, { lang: 'en' })));
    expect(Object.fromEntries(summary!.slice(1)).site_name).toBe('Qingshan Lake Scenic Area');
    expect(channels!.slice(1).map((c) => c.slice(0, 2))).toEqual([['window', 'window'], ['wechat', 'WeChat mini-program']]);
    expect(reasons![1]!.slice(0, 2)).toEqual(['weather', 'Bad weather']);
    expect(mix!.slice(1).map((m) => m.slice(0, 2))).toEqual([['family', 'Family package'], ['adult', 'Adult']]);
    const zh = sections(parseCsv(reportToCsv(r)));
    expect(zh[4]!.slice(1).map((m) => m[1])).toEqual(['家庭套票', '成人票']);
  });

  it('JSON: the names in the asked language beside both', () => {
    const en = localizeReport(r, 'en');
    expect(en).toMatchObject({ siteName: 'Qingshan Lake Scenic Area', siteNames: { 'zh-CN': '青山湖风景区', en: 'Qingshan Lake Scenic Area' } });
    expect(en.typeMix.map((m) => [m.typeName, m.typeNames?.['zh-CN']])).toEqual([['Family package', '家庭套票'], ['Adult', '成人票']]);
    expect(en.refundsByReason[0]).toMatchObject({ label: 'Bad weather', labels: { 'zh-CN': '天气原因', en: 'Bad weather' } });
    expect(en.byChannel.find((c) => c.channel === 'wechat')).toMatchObject({ name: 'WeChat mini-program' });
    // A report kept before names had two languages keeps the text it has.
    const old = buildDailyReport(INPUT, NOW);
    expect(localizeReport(old, 'en')).toEqual(old);
  });
});
