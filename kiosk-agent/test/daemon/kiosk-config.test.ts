/** kiosk.yaml: every mistake at once with its path; the journal's durable rows and what recovery reads back. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StileError } from '@stile/config';
import { loadKioskConfig } from '../../src/config.js';
import { KioskJournal } from '../../src/store/journal.js';

const dir = mkdtempSync(join(tmpdir(), 'stile-kiosk-cfg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

const GOOD = `version: 1
site: { id: demo-park }
kiosk: { id: k1 }
cloud:
  url: http://127.0.0.1:8080
  apiKeyFile: kiosk.key
  cashApiKeyFile: cash.key
  contactPhone: "13800138000"
devices:
  cash: { path: /dev/ttyUSB0 }
  printer: { path: /dev/ttyUSB1 }
  paymentScanner: { type: qr-serial, path: /dev/ttyACM0 }
journal: { path: data/journal.db }
`;

describe('kiosk.yaml', () => {
  it('loads a good file: paths against its folder, keys read, the sale machine filled in', () => {
    write('kiosk.key', 'k-provider\n');
    write('cash.key', 'k-cash\n');
    const cfg = loadKioskConfig(write('good.yaml', GOOD));
    expect(cfg.journal.path).toBe(join(dir, 'data/journal.db'));
    expect(cfg.cloud).toMatchObject({ apiKey: 'k-provider', cashApiKey: 'k-cash', payment: 'provider', qrProvider: 'wechat' });
    expect(cfg.sale).toMatchObject({ mode: 'kiosk', methods: ['cash', 'code', 'qr'], idleMs: 60_000 });
  });

  it('reports every mistake at once, each with its field path', () => {
    const bad = GOOD.replace('http://127.0.0.1:8080', 'http://cloud.example.cn')
      .replace('"13800138000"', '"12345"')
      .replace('  cashApiKeyFile: cash.key\n', '')
      .replace('printer: { path: /dev/ttyUSB1 }', 'printer: { path: /dev/ttyUSB0 }');
    let err: unknown;
    try {
      loadKioskConfig(write('bad.yaml', bad));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StileError);
    const text = (err as Error).message;
    expect(text).toContain('bad.yaml: cloud.contactPhone:');
    expect(text).toContain('bad.yaml: cloud.cashApiKeyFile: cash needs a partner-mode kiosk channel');
    expect(text).toContain('bad.yaml: cloud.url:');
    expect(text).toContain('bad.yaml: devices.printer.path: /dev/ttyUSB0 is also used by devices.cash.path');
  });

  it('names a key file it cannot read', () => {
    expect(() => loadKioskConfig(write('nokey.yaml', GOOD.replace('kiosk.key', 'missing.key')))).toThrow(/cloud\.apiKeyFile: cannot read/);
  });
});

describe('the journal', () => {
  it('keeps what an open sale needs after a reopen, forgets closed sales, and keeps the cash rows', () => {
    const path = join(dir, 'j.db');
    let j = new KioskJournal(path);
    j.append({ kind: 'sale_started', saleId: 's1', at: 1, date: '2027-03-10' });
    j.append({ kind: 'sale_closed', saleId: 's1', at: 2, outcome: 'cancelled' });
    j.append({ kind: 'sale_started', saleId: 's2', at: 3, date: '2027-03-10' });
    j.append({ kind: 'note_accept', saleId: 's2', at: 4, valueFen: 10000 });
    j.cash(5, 's2', 'note_in', 10000, 'CN0100A');
    j.append({ kind: 'owed', saleId: 's2', at: 6, amountFen: 2000, purpose: 'change', why: 'change_owed' });
    j.close();
    j = new KioskJournal(path);
    expect(j.openEntries().map((e) => [e.saleId, e.kind])).toEqual([
      ['s2', 'sale_started'],
      ['s2', 'note_accept'],
      ['s2', 'owed'],
    ]);
    expect(j.cashSince().map((r) => [r.kind, r.fen, r.detail])).toEqual([
      ['note_in', 10000, 'CN0100A'],
      ['owed', 2000, 'change'],
    ]);
    j.close();
  });
});
