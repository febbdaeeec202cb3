import { execFile, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { basicAuthorization, generateSigningKeyPair, issueOfflineTicket, loadSigningKey, signControl, type GateConfig } from '@stile/config';
import { startGateDaemon, type GateDaemon } from '../src/daemon/gate-daemon.js';
import { writeWhitelist } from '@stile/demo/site';
import { GATECTL_BIN } from './helpers/processes.js';
import { makeSite, silent, type TestSite } from './helpers/site.js';
import { controlKey, signSnapshotFile } from './helpers/signed-snapshot.js';

/**
 * gatectl end to end: the real built CLI (bin/gatectl.js → dist) as a child process,
 * asserting only what a technician or a script sees: stdout, stderr and the exit code.
 */

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function gatectlAt(configPath: string | null, ...args: string[]): Promise<Run> {
  const argv = configPath === null ? args : ['--config', configPath, ...args];
  return new Promise((resolve) => {
    execFile(process.execPath, [GATECTL_BIN, ...argv], { encoding: 'utf8', env: { ...process.env, STILE_CONFIG: '', GATECTL_DEBUG: '' } }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const stderrLines = (r: Run) => r.stderr.split('\n').filter((l) => l !== '');
/** A failure as the issue asks for it: exactly one line on stderr, no stack trace. */
function expectOneLineError(r: Run, code: number, ...mentions: (string | RegExp)[]): void {
  expect(r.code, `stderr: ${r.stderr}`).toBe(code);
  const lines = stderrLines(r);
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^gatectl: /);
  expect(r.stderr).not.toMatch(/^\s+at .+\(.+:\d+:\d+\)$/m);
  for (const m of mentions) expect(lines[0]).toMatch(typeof m === 'string' ? new RegExp(m.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : m);
}

function json<T = Record<string, unknown>>(r: Run): T {
  expect(r.stdout.trim()).not.toBe('');
  return JSON.parse(r.stdout) as T;
}

let site: TestSite;
let gatectl: (...args: string[]) => Promise<Run>;

beforeAll(async () => {
  site = await makeSite(40);
  gatectl = (...args) => gatectlAt(site.configPath, ...args);
});
afterAll(() => site?.cleanup());

// Ticket i of the demo whitelist: 0–2 adult, 3 child, 4 family of 3; idCards[0] is bound to ticket 0.
const st1 = (i: number) => `ST1:${site.sample.ids[i]!}`;

describe('gatectl check (dry run)', () => {
  it('admits an unused valid ST1 code and leaves the ticket unused', async () => {
    const first = await gatectl('check', st1(0));
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^admit: 1 person\(s\), ticket \S+ \(adult\)/);
    expect(first.stdout).toContain('dry run');

    const again = json(await gatectl('check', st1(0), '--json'));
    expect(again).toMatchObject({ decision: 'admit', reason: null, ticketId: site.sample.ids[0], persons: 1, dryRun: true });

    const ticket = json<{ entriesUsed: number; entries: unknown[] }>(await gatectl('tickets', 'lookup', site.sample.ids[0]!, '--json'));
    expect(ticket.entriesUsed).toBe(0);
    expect(ticket.entries).toEqual([]);
  });

  it('a family ticket admits its persons', async () => {
    expect(json(await gatectl('check', st1(4), '--json'))).toMatchObject({ decision: 'admit', persons: 3 });
  });

  it('rejects unknown, forged and malformed codes with their reason; exit 0 unless --fail-on-reject (3)', async () => {
    // Signed by a key that merely claims the trusted key id "k1".
    const impostor = loadSigningKey(site.keyId, generateSigningKeyPair(site.keyId).privateKeyPem);
    const forged = issueOfflineTicket(impostor, {
      site: 'demo-park', ticketId: 'FORGED00001', typeId: 'adult', visitDate: site.today, slotStart: null, slotEnd: null, persons: 5, issuedAt: 1,
    });
    const cases = [
      ['ST1:NOSUCHTICKET0000000001', 'unknown_ticket'],
      [forged, 'bad_signature'],
      ['hello world', 'malformed_code'],
      ['ST1:x', 'malformed_code'],
    ] as const;
    await Promise.all(
      cases.map(async ([code, reason]) => {
        const [text, asJson, strict] = await Promise.all([gatectl('check', code), gatectl('check', code, '--json'), gatectl('check', code, '--fail-on-reject')]);
        expect(text.code).toBe(0);
        expect(text.stdout).toMatch(new RegExp(`^reject: ${reason}`));
        expect(json(asJson)).toMatchObject({ decision: 'reject', reason, dryRun: true });
        expect(strict.code).toBe(3);
        expect(strict.stdout).toMatch(new RegExp(`^reject: ${reason}`));
      }),
    );
    // An admit stays exit 0 with --fail-on-reject.
    expect((await gatectl('check', st1(1), '--fail-on-reject')).code).toBe(0);
  });

  it('check --idcard admits and never shows the full ID number', async () => {
    const idNumber = site.sample.idCards[0]!;
    const masked = `**************${idNumber.slice(14)}`;
    const [text, asJson] = await Promise.all([gatectl('check', '--idcard', idNumber), gatectl('check', '--idcard', idNumber, '--json')]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^admit: /);
    expect(text.stdout).toContain(masked);
    expect(json(asJson)).toMatchObject({ decision: 'admit', credential: 'idcard', ticketId: site.sample.ids[0], idcard: masked });
    for (const r of [text, asJson]) expect(r.stdout + r.stderr).not.toContain(idNumber);

    // The ticket behind the card is still unused.
    expect(json<{ entriesUsed: number }>(await gatectl('tickets', 'lookup', site.sample.ids[0]!, '--json')).entriesUsed).toBe(0);
  });

  it('an ID number typed in the wrong place is refused masked, never echoed', async () => {
    const idNumber = site.sample.idCards[0]!;
    const badCheckDigit = `${idNumber.slice(0, 17)}${idNumber[17] === '0' ? '1' : '0'}`;
    const runs = await Promise.all([
      gatectl('check', '--idcard', badCheckDigit),
      gatectl('check', idNumber),
      gatectl('tickets', 'lookup', idNumber),
      gatectl(idNumber),
    ]);
    expectOneLineError(runs[0]!, 1, 'not a valid ID number', `**************${badCheckDigit.slice(14)}`);
    expectOneLineError(runs[1]!, 2, 'looks like an ID number');
    expectOneLineError(runs[2]!, 1, 'looks like an ID number');
    expectOneLineError(runs[3]!, 2, 'unknown command');
    for (const r of runs) expect(r.stdout + r.stderr).not.toMatch(new RegExp(`${idNumber}|${badCheckDigit}`));
  });

  it('usage errors exit 2', async () => {
    expectOneLineError(await gatectl('check'), 2, 'usage: gatectl check');
    expectOneLineError(await gatectl('check', st1(0), '--idcard', site.sample.idCards[0]!), 2, 'usage');
  });
});

describe('gatectl config', () => {
  it('validate: a good config exits 0', async () => {
    const [text, asJson] = await Promise.all([gatectl('config', 'validate'), gatectl('config', 'validate', '--json')]);
    expect(text.code).toBe(0);
    expect(text.stdout.trim()).toBe(`${site.configPath}: valid (site demo-park, gate east-1)`);
    expect(json(asJson)).toEqual({ valid: true, file: site.configPath, site: 'demo-park', gate: 'east-1' });
  });

  it('validate: a wrong-typed field gives one line naming the file and the field path, exit 1', async () => {
    const raw = parse(readFileSync(site.configPath, 'utf8')) as { relay: Record<string, unknown>; gate: Record<string, unknown> };
    raw.relay.pulseMs = 'fast';
    const bad = join(site.dir, 'wrong-type.yaml');
    writeFileSync(bad, stringify(raw));
    const [text, asJson, status] = await Promise.all([gatectlAt(bad, 'config', 'validate'), gatectlAt(bad, 'config', 'validate', '--json'), gatectlAt(bad, 'status')]);
    expectOneLineError(text, 1, `${bad}: relay.pulseMs:`, 'expected number');
    expect(text.stdout).toBe('');
    expect(json<{ error: { code: string; message: string } }>(asJson).error).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('relay.pulseMs') });
    // Every command refuses the config the same way.
    expectOneLineError(status, 1, `${bad}: relay.pulseMs:`);

    // Several mistakes: the first line still names file and field; the rest follow.
    raw.gate.zone = 7;
    const worse = join(site.dir, 'wrong-types.yaml');
    writeFileSync(worse, stringify(raw));
    const many = await gatectlAt(worse, 'config', 'validate');
    expect(many.code).toBe(1);
    const [first, ...rest] = stderrLines(many);
    expect(first).toMatch(new RegExp(`^gatectl: ${worse.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: (gate\\.zone|relay\\.pulseMs): .*\\(and 1 more problem:\\)$`));
    expect(rest).toHaveLength(1);
  });

  it('a missing config gives one line, exit 1', async () => {
    const missing = join(site.dir, 'nope', 'gate.yaml');
    const [status, check] = await Promise.all([gatectlAt(missing, 'status'), gatectlAt(missing, 'check', st1(0))]);
    expectOneLineError(status, 1, missing, 'cannot read config');
    expectOneLineError(check, 1, missing, 'cannot read config');
  });

  it('show --json prints the effective config without secrets', async () => {
    const [text, asJson] = await Promise.all([gatectl('config', 'show'), gatectl('config', 'show', '--json')]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^version: 1\nsite:\n {2}id: demo-park/);
    const cfg = json<GateConfig>(asJson);
    expect(cfg.site.id).toBe('demo-park');
    expect(cfg.gate).toMatchObject({ id: 'east-1', zone: 'main' });
    expect(cfg.store.path).toBe(site.dbPath);
    expect(cfg.keys.idHash).toEqual({ file: join(site.dir, 'idhash.key') });
    expect(cfg.ticketTypes.map((t) => t.id)).toContain('family');
    for (const r of [text, asJson]) expect(r.stdout).not.toContain(site.idHashKey);
  });
});

describe('gatectl keys', () => {
  it('lists trusted key ids and public keys, never private material', async () => {
    const [text, asJson] = await Promise.all([gatectl('keys'), gatectl('keys', '--json')]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^KEY\s+NOT AFTER\s+PUBLIC KEY\nk1\s/);
    const data = json<{ trusted: { keyId: string; publicKey: string }[]; revokedTickets: number }>(asJson);
    expect(data.trusted.map((k) => k.keyId)).toEqual(['k1']);
    expect(data.revokedTickets).toBe(0);
    const pemBody = readFileSync(site.signingKeyPath, 'utf8').split('\n').filter((l) => l && !l.startsWith('-----'));
    for (const r of [text, asJson]) {
      expect(r.stdout).not.toMatch(/PRIVATE/);
      for (const l of pemBody) expect(r.stdout).not.toContain(l);
    }
  });

  it('keys issue makes a signed code that check admits', async () => {
    const issued = await gatectl('keys', 'issue', '--signing-key', site.signingKeyPath, '--key-id', 'k1', '--ticket', 'KIOSK0000001', '--type', 'adult', '--date', site.today, '--persons', '2');
    expect(issued.code).toBe(0);
    const code = issued.stdout.trim();
    expect(code).toMatch(/^ST2:[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const decided = json(await gatectl('check', code, '--json'));
    expect(decided).toMatchObject({ decision: 'admit', credential: 'signed-qr', ticketId: 'KIOSK0000001', persons: 2 });
    // --json variant, and a bad request gets one line.
    expect(json<{ code: string }>(await gatectl('keys', 'issue', '--json', '--signing-key', site.signingKeyPath, '--key-id', 'k1', '--ticket', 'KIOSK0000002', '--type', 'adult', '--date', site.today)).code).toMatch(/^ST2:/);
    expectOneLineError(await gatectl('keys', 'issue', '--signing-key', site.signingKeyPath, '--key-id', 'k1', '--ticket', 'KIOSK0000003', '--type', 'adult', '--date', site.today, '--persons', '0'), 1, 'cannot issue', 'persons');
    expectOneLineError(await gatectl('keys', 'issue', '--signing-key', join(site.dir, 'nope.pem'), '--key-id', 'k1', '--ticket', 'KIOSK0000003', '--type', 'adult', '--date', site.today), 1, 'cannot read signing key');
    expectOneLineError(await gatectl('keys', 'issue', '--key-id', 'k1'), 2, '--signing-key');
  });

  it('keys generate writes a private key file (0600) and prints only the public key; a gate that trusts it admits its codes', async () => {
    const out = join(site.dir, 'issuer');
    const gen = await gatectl('keys', 'generate', 'k2', '--out', out, '--json');
    expect(gen.code).toBe(0);
    const key = json<{ keyId: string; privateKeyFile: string; publicKey: string }>(gen);
    expect(key).toMatchObject({ keyId: 'k2', privateKeyFile: join(out, 'k2.key.pem') });
    expect(statSync(key.privateKeyFile).mode & 0o777).toBe(0o600);
    expect(gen.stdout).not.toMatch(/PRIVATE/);
    const again = await gatectl('keys', 'generate', 'k2', '--out', out);
    expectOneLineError(again, 1, 'already exists');
    expect(readFileSync(key.privateKeyFile, 'utf8')).toMatch(/PRIVATE KEY/); // untouched

    const issued = await gatectl('keys', 'issue', '--signing-key', key.privateKeyFile, '--key-id', 'k2', '--ticket', 'KIOSK0000010', '--type', 'child', '--date', site.today);
    expect(issued.code).toBe(0);
    const code = issued.stdout.trim();
    // This gate does not trust k2 yet…
    expect(json(await gatectl('check', code, '--json'))).toMatchObject({ decision: 'reject', reason: 'unknown_key' });
    // …a config that lists it does.
    const raw = parse(readFileSync(site.configPath, 'utf8')) as { keys: { offline: { id: string; publicKey: string }[] } };
    raw.keys.offline.push({ id: 'k2', publicKey: key.publicKey });
    const withK2 = join(site.dir, 'gate-k2.yaml');
    writeFileSync(withK2, stringify(raw));
    expect(json(await gatectlAt(withK2, 'check', code, '--json'))).toMatchObject({ decision: 'admit', credential: 'signed-qr', typeId: 'child' });
  });
});

describe('gatectl with admissions (in-process daemon)', () => {
  let daemon: GateDaemon | undefined;

  beforeAll(async () => {
    const input = join(site.dir, 'no-scans.txt');
    writeFileSync(input, '');
    const cfg = { ...site.cfg, inputs: [{ type: 'lines', name: 'test', path: input, simulateIdCards: false }], relay: { type: 'log', pulseMs: 50, gapMs: 0 } } as GateConfig;
    daemon = startGateDaemon(cfg, silent);
    for (const i of [1, 2, 3]) expect((await daemon.scan({ kind: 'qr', text: st1(i) }, 'test')).decision).toBe('admit');
    expect((await daemon.scan({ kind: 'qr', text: st1(1) }, 'test')).reason).toBe('entries_exhausted');
  });
  afterAll(async () => {
    await daemon?.stop();
  });

  it('entries tail shows the newest N, oldest first; --json has the rows', async () => {
    const [text, two, all] = await Promise.all([gatectl('entries', 'tail', '-n', '2'), gatectl('entries', 'tail', '-n', '2', '--json'), gatectl('entries', 'tail', '--json')]);
    expect(text.code).toBe(0);
    const lines = text.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^SEQ\s+AT\s+KIND\s+TICKET\s+TYPE\s+CREDENTIAL\s+PERSONS\s+INPUT$/);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(new RegExp(`^2\\s+\\S+Z\\s+admit\\s+${site.sample.ids[2]}\\s+adult\\s+qr\\s+1\\s+test$`));
    expect(lines[2]).toContain(site.sample.ids[3]);
    const rows = json<{ seq: number; ticketId: string; kind: string; input: string }[]>(two);
    expect(rows.map((r) => [r.seq, r.ticketId])).toEqual([[2, site.sample.ids[2]], [3, site.sample.ids[3]]]);
    expect(json<unknown[]>(all)).toHaveLength(3);
    expectOneLineError(await gatectl('entries', 'tail', '-n', 'many'), 2, '-n');
  });

  it('lookup shows the used ticket with its entry; check now rejects it without adding one', async () => {
    const [text, asJson, dry] = await Promise.all([
      gatectl('tickets', 'lookup', site.sample.ids[1]!),
      gatectl('tickets', 'lookup', st1(1), '--json'),
      gatectl('check', st1(1), '--json'),
    ]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^ticketId\\s+${site.sample.ids[1]}$`, 'm'));
    expect(text.stdout).toMatch(/^entriesUsed\s+1$/m);
    expect(json(asJson)).toMatchObject({ ticketId: site.sample.ids[1], entriesUsed: 1, revoked: false, entries: [{ seq: 1, kind: 'admit' }] });
    expect(json(dry)).toMatchObject({ decision: 'reject', reason: 'entries_exhausted' });
    expect(json<unknown[]>(await gatectl('entries', 'tail', '--json'))).toHaveLength(3);
  });

  it('lookup of an unknown id exits 1 with one line', async () => {
    const [text, asJson] = await Promise.all([gatectl('tickets', 'lookup', 'NOSUCHTICKET0001'), gatectl('tickets', 'lookup', 'NOSUCHTICKET0001', '--json')]);
    expectOneLineError(text, 1, 'NOSUCHTICKET0001', "not in this gate's whitelist");
    expect(asJson.code).toBe(1);
    expect(json<{ error: { code: string } }>(asJson).error.code).toBe('NOT_FOUND');
  });

  it('entries tail --follow --json streams one JSON object per line as the gate admits', async () => {
    const child = spawn(process.execPath, [GATECTL_BIN, '--config', site.configPath, 'entries', 'tail', '-n', '1', '--follow', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
      const lines = async (n: number) => {
        for (let waited = 0; out.split('\n').length <= n; waited += 50) {
          if (waited > 10_000) throw new Error(`no follow output: ${out}`);
          await new Promise((r) => setTimeout(r, 50));
        }
        return out.split('\n').slice(0, n).map((l) => JSON.parse(l) as { seq: number; ticketId: string; persons: number });
      };
      expect((await lines(1))[0]).toMatchObject({ seq: 3, ticketId: site.sample.ids[3] });
      expect((await daemon!.scan({ kind: 'qr', text: st1(4) }, 'test')).decision).toBe('admit');
      expect((await lines(2))[1]).toMatchObject({ seq: 4, ticketId: site.sample.ids[4], persons: 3 });
    } finally {
      child.kill();
    }
  });

  it('status --json: tickets, whitelist seq, last entries, daemon running; after stop, not running', async () => {
    type Status = {
      site: string; gate: string;
      daemon: { running: boolean; pid?: number; admitted?: number; stoppedAt: string | null };
      whitelist: { tickets: number; seq: string | null; importedAt: string | null };
      entries: { total: number; lastSeq: number; last: { ticketId: string }[] };
      outboxDepth: number; keys: number;
    };
    const [text, asJson] = await Promise.all([gatectl('status'), gatectl('status', '--json')]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^daemon\s+running, pid \d+/m);
    expect(text.stdout).toMatch(/^whitelist\s+40 tickets, seq 1,/m);
    const st = json<Status>(asJson);
    expect(st).toMatchObject({ site: 'demo-park', gate: 'east-1', whitelist: { tickets: 40, seq: '1' }, entries: { total: 4, lastSeq: 4 }, outboxDepth: 4, keys: 1 });
    expect(st.daemon).toMatchObject({ running: true, pid: process.pid });
    expect(st.entries.last.map((e) => e.ticketId)).toEqual([1, 2, 3, 4].map((i) => site.sample.ids[i]));

    await daemon!.stop();
    daemon = undefined;
    const after = json<Status>(await gatectl('status', '--json'));
    expect(after.daemon).toMatchObject({ running: false, admitted: 4, persons: 6 });
    expect(after.daemon.stoppedAt).toEqual(expect.any(String));
    expect((await gatectl('status')).stdout).toMatch(/^daemon\s+NOT RUNNING \(stopped /m);
  });
});

describe('gatectl tickets import', () => {
  let other: TestSite;
  let g: (...args: string[]) => Promise<Run>;
  beforeAll(async () => {
    other = await makeSite(10);
    g = (...args) => gatectlAt(other.configPath, ...args);
  });
  afterAll(() => other?.cleanup());

  it('imports a fresh snapshot and reports the count', async () => {
    const file = join(other.dir, 'fresh.ndjson');
    const fresh = await writeWhitelist(file, { count: 25, today: other.today, idHashKey: other.idHashKey, asOfSeq: '7' });
    const r = await g('tickets', 'import', file);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^imported 25 tickets in \d+\.\d s \(seq 7, 0 kept from local use; unsigned file\)$/m);
    expect(json(await g('tickets', 'lookup', fresh.ids[0]!, '--json'))).toMatchObject({ ticketId: fresh.ids[0], entriesUsed: 0 });
    const again = json(await g('tickets', 'import', file, '--json'));
    expect(again).toMatchObject({ imported: true, tickets: 25, asOfSeq: '7', signed: false });
  });

  it("a signed snapshot is verified against keys.control and reported as signed; a forged one is refused", async () => {
    const cloud = controlKey('c1');
    const yaml = parse(readFileSync(other.configPath, 'utf8')) as { keys: Record<string, unknown> };
    yaml.keys.control = [{ id: 'c1', publicKey: cloud.publicKey }];
    const withKey = join(other.dir, 'gate-with-control.yaml');
    writeFileSync(withKey, stringify(yaml));
    const signed = join(other.dir, 'signed.ndjson');
    await writeWhitelist(signed, { count: 12, today: other.today, idHashKey: other.idHashKey, asOfSeq: '30' });
    signSnapshotFile(signed, cloud.key);
    const r = await gatectlAt(withKey, 'tickets', 'import', signed);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\(seq 30, 0 kept from local use; signed by the site's control key\)$/m);

    const before = json<{ whitelist: unknown }>(await gatectlAt(withKey, 'status', '--json')).whitelist;
    const forged = join(other.dir, 'forged.ndjson');
    await writeWhitelist(forged, { count: 12, today: other.today, idHashKey: other.idHashKey, asOfSeq: '31' });
    signSnapshotFile(forged, controlKey('c1').key);
    expectOneLineError(await gatectlAt(withKey, 'tickets', 'import', forged), 1, `${forged}: snapshot signature: bad_signature`, 'whitelist unchanged');
    expect(json<{ whitelist: unknown }>(await gatectlAt(withKey, 'status', '--json')).whitelist).toEqual(before);
  });

  it('a snapshot with a bad line is refused with file:line in one line, and the old whitelist stays', async () => {
    const before = json<{ whitelist: { tickets: number; seq: string } }>(await g('status', '--json')).whitelist;
    const file = join(other.dir, 'bad-line.ndjson');
    await writeWhitelist(file, { count: 5, today: other.today, idHashKey: other.idHashKey, asOfSeq: '8' });
    const lines = readFileSync(file, 'utf8').split('\n');
    lines[3] = lines[3]!.replace(/"persons":\d+/, '"persons":"two"');
    writeFileSync(file, lines.join('\n'));
    const r = await g('tickets', 'import', file);
    expectOneLineError(r, 1, `${file}:4: persons:`, 'whitelist unchanged');
    const asJson = await g('tickets', 'import', file, '--json');
    expect(json<{ error: { code: string } }>(asJson).error.code).toBe('SNAPSHOT_INVALID');

    const notJson = join(other.dir, 'not-json.ndjson');
    writeFileSync(notJson, '{"snapshot":{"site":"demo-park","asOfSeq":"9"}}\n{"ticketId":\n');
    expectOneLineError(await g('tickets', 'import', notJson), 1, `${notJson}:2: not JSON`);
    expectOneLineError(await g('tickets', 'import', join(other.dir, 'missing.ndjson')), 1, 'cannot read snapshot', 'ENOENT');
    expectOneLineError(await g('tickets', 'import'), 2, 'usage');

    expect(json<{ whitelist: unknown }>(await g('status', '--json')).whitelist).toEqual(before);
  });
});

describe('gatectl and a damaged or missing database', () => {
  let other: TestSite;
  let g: (...args: string[]) => Promise<Run>;
  beforeAll(async () => {
    other = await makeSite(10);
    g = (...args) => gatectlAt(other.configPath, ...args);
  });
  afterAll(() => other?.cleanup());

  it('garbage over the database file: every command says so in one line, and import does not overwrite it', async () => {
    const garbage = Buffer.alloc(64 * 1024, 0);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 131 + 7) % 251;
    writeFileSync(other.dbPath, garbage);
    const runs = await Promise.all([
      g('status'), g('status', '--json'), g('check', `ST1:${other.sample.ids[0]!}`), g('tickets', 'lookup', other.sample.ids[0]!),
      g('entries', 'tail'), g('keys'), g('tickets', 'import', other.whitelistPath),
    ]);
    for (const r of runs) expectOneLineError(r, 1, other.dbPath, /corrupt|damaged/);
    expect(json<{ error: { code: string } }>(runs[1]!).error.code).toBe('STORE_CORRUPT');
    // Nothing already stored is lost: the file is left exactly as it was, for recovery.
    expect(readFileSync(other.dbPath).equals(garbage)).toBe(true);
  });

  it('damaged pages behind an intact header: one line naming the file', async () => {
    writeFileSync(other.dbPath, ''); // start over
    expect((await g('tickets', 'import', other.whitelistPath)).code).toBe(0);
    const db = readFileSync(other.dbPath);
    const pageSize = db.readUInt16BE(16) === 1 ? 65536 : db.readUInt16BE(16);
    for (let i = pageSize; i < db.length; i++) db[i] = (i * 31 + 3) % 256;
    writeFileSync(other.dbPath, db);
    const runs = await Promise.all([g('tickets', 'lookup', other.sample.ids[0]!), g('tickets', 'import', other.whitelistPath)]);
    for (const r of runs) expectOneLineError(r, 1, other.dbPath, /corrupt|damaged|malformed/);
  });

  it('a missing, empty or unreadable database file is named as such', async () => {
    const dir = join(other.dir, 'elsewhere');
    mkdirSync(dir);
    const raw = parse(readFileSync(other.configPath, 'utf8')) as { store: { path: string } };
    const at = (path: string) => {
      raw.store.path = path;
      const file = join(dir, `${path.replace(/\W/g, '_')}.yaml`);
      writeFileSync(file, stringify(raw));
      return (...args: string[]) => gatectlAt(file, ...args);
    };
    expectOneLineError(await at('missing.db')('status'), 1, join(dir, 'missing.db'), 'does not exist');
    writeFileSync(join(dir, 'empty.db'), '');
    expectOneLineError(await at('empty.db')('entries', 'tail'), 1, join(dir, 'empty.db'), 'is empty');
    mkdirSync(join(dir, 'folder.db'));
    expectOneLineError(await at('folder.db')('status'), 1, join(dir, 'folder.db'), 'not a regular file');
    expectOneLineError(await at('folder.db')('tickets', 'import', other.whitelistPath), 1, join(dir, 'folder.db'), 'not a regular file');
  });
});

describe('gatectl usage', () => {
  it('unknown command, unknown option and no command exit 2 with one line; --help exits 0', async () => {
    const [unknown, unknownJson, option, none, help] = await Promise.all([
      gatectl('frobnicate'), gatectl('frobnicate', '--json'), gatectl('status', '--frobnicate'), gatectlAt(null), gatectlAt(null, '--help'),
    ]);
    expectOneLineError(unknown, 2, 'unknown command "frobnicate"', 'gatectl --help');
    expectOneLineError(unknownJson, 2, 'unknown command');
    expect(json<{ error: { code: string } }>(unknownJson).error.code).toBe('USAGE');
    expectOneLineError(option, 2, "Unknown option '--frobnicate'");
    expectOneLineError(none, 2, 'no command');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: gatectl /m);
    for (const c of ['status', 'config validate', 'config show', 'tickets import', 'tickets lookup', 'check <code>', 'entries tail', 'keys']) expect(help.stdout).toContain(c);
  });
});

describe('gatectl config pull-types', () => {
  const types = [
    { id: 'adult', name: 'Adult', entries: { mode: 'single' }, slotGrace: { earlyMin: 15, lateMin: 30 }, antiPassbackSec: 0 },
    { id: 'adult@early', name: 'Adult (early-bird)', entries: { mode: 'single' }, entryWindow: { from: '00:00', to: '08:00' }, slotGrace: { earlyMin: 15, lateMin: 30 }, antiPassbackSec: 0 },
  ];
  const cloud = controlKey('c1');
  const signedTypes = (ticketTypes: unknown[], key = cloud.key, site = 'demo-park') => signControl({ v: 1 as const, site, ticketTypes, at: new Date().toISOString() }, key);

  /** A demo gate whose gate.yaml trusts `cloud` and has the gate's credential; and a fake cloud answering `answer`. */
  async function pullSetup(host = '127.0.0.1') {
    const other = await makeSite(8);
    const yaml = parse(readFileSync(other.configPath, 'utf8')) as Record<string, unknown> & { keys: Record<string, unknown>; gate: { id: string } };
    yaml.keys.control = [{ id: 'c1', publicKey: cloud.publicKey }];
    yaml.mqtt = { url: 'mqtt://127.0.0.1:1883', passwordFile: 'gate.pw' };
    writeFileSync(join(other.dir, 'gate.pw'), 'the-gate-password\n', { mode: 0o600 });
    writeFileSync(other.configPath, `# the park's east lane\n${stringify(yaml)}`, { mode: 0o600 });
    chmodSync(other.configPath, 0o600);
    const box = { answer: signedTypes(types) as unknown, paths: [] as string[], auth: [] as (string | undefined)[] };
    const server = createServer((req, res) => {
      box.paths.push(req.url ?? '');
      box.auth.push(req.headers.authorization);
      if (req.headers.authorization !== basicAuthorization(`gate.demo-park.${yaml.gate.id}`, 'the-gate-password')) return res.writeHead(401).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(box.answer));
    });
    await new Promise<void>((r) => server.listen(0, host === '127.0.0.1' ? '127.0.0.1' : '0.0.0.0', r));
    const url = `http://${host}:${(server.address() as AddressInfo).port}`;
    return {
      other,
      box,
      url,
      user: `gate.demo-park.${yaml.gate.id}`,
      pull: (...args: string[]) => gatectlAt(other.configPath, 'config', 'pull-types', ...args),
      close() {
        server.close();
        other.cleanup();
      },
    };
  }

  it("replaces ticketTypes with the cloud's signed rules (entry windows included), sends the gate's credential, keeps the file valid, its comments and its mode", async () => {
    const t = await pullSetup();
    try {
      const pulled = await t.pull('--url', t.url, '--json');
      expect(pulled.code, pulled.stderr).toBe(0);
      expect(json(pulled)).toMatchObject({ types: 2, added: ['adult@early'] });
      expect(t.box.paths).toEqual(['/v1/sites/demo-park/ticket-types']);
      expect(t.box.auth).toEqual([basicAuthorization(t.user, 'the-gate-password')]);
      const shown = json<GateConfig>(await gatectlAt(t.other.configPath, 'config', 'show', '--json'));
      expect(shown.ticketTypes.map((x) => x.id)).toEqual(['adult', 'adult@early']);
      expect(shown.ticketTypes[1]!.entryWindow).toEqual({ from: '00:00', to: '08:00' });
      expect(readFileSync(t.other.configPath, 'utf8')).toMatch(/^# the park's east lane/);
      expect(statSync(t.other.configPath).mode & 0o777).toBe(0o600);
      // Another mode is kept as it was.
      chmodSync(t.other.configPath, 0o640);
      expect((await t.pull('--url', t.url)).code).toBe(0);
      expect(statSync(t.other.configPath).mode & 0o777).toBe(0o640);
    } finally {
      t.close();
    }
  });

  it('a forged, unsigned, foreign-site or invalid document leaves gate.yaml unchanged and 0600; a refused credential names the user', async () => {
    const t = await pullSetup();
    try {
      const before = readFileSync(t.other.configPath, 'utf8');
      const unchanged = () => {
        expect(readFileSync(t.other.configPath, 'utf8')).toBe(before);
        expect(statSync(t.other.configPath).mode & 0o777).toBe(0o600);
      };
      const evil = [{ id: 'adult', name: 'Adult', entries: { mode: 'unlimited' } }];
      const attacks: [unknown, string][] = [
        [signedTypes(evil, controlKey('c1').key), 'ticket types refused: bad_signature'],
        [signedTypes(evil, controlKey('c9').key), 'ticket types refused: unknown_key'],
        [{ site: 'demo-park', ticketTypes: evil }, 'ticket types refused: invalid'],
        [{ ...signedTypes(types), ticketTypes: evil }, 'ticket types refused: bad_signature'],
        [signedTypes(evil, cloud.key, 'other-park'), 'ticket types refused: wrong_site'],
        [signedTypes([{ id: 'no-name' }]), 'did not send valid ticket types'],
      ];
      for (const [answer, message] of attacks) {
        t.box.answer = answer;
        expectOneLineError(await t.pull('--url', t.url), 1, message, 'gate.yaml unchanged');
        unchanged();
      }
      writeFileSync(join(t.other.dir, 'gate.pw'), 'a-revoked-password\n');
      const refused = await t.pull('--url', t.url);
      expectOneLineError(refused, 1, `HTTP 401: the cloud refused this gate's credential (user "${t.user}"; revoked or wrong password)`, 'gate.yaml unchanged');
      expect(refused.stderr).not.toContain('a-revoked-password');
      unchanged();
      expectOneLineError(await t.pull(), 2, '--url');
    } finally {
      t.close();
    }
  });

  it('--url must be https:// unless loopback or --insecure', async () => {
    const lan = Object.values(networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
    const t = await pullSetup(lan ?? '127.0.0.1');
    try {
      const before = readFileSync(t.other.configPath, 'utf8');
      expectOneLineError(await t.pull('--url', 'http://cloud.example:8080'), 2, 'plain http:// to cloud.example', 'use https://', '--insecure');
      expectOneLineError(await t.pull('--url', 'ftp://cloud.example'), 2, 'https://');
      expect(readFileSync(t.other.configPath, 'utf8')).toBe(before);
      if (lan) {
        // A real non-loopback address of this machine: refused without --insecure, pulled with it.
        expectOneLineError(await t.pull('--url', t.url), 2, `plain http:// to ${lan}`);
        expect(t.box.paths).toEqual([]);
        const r = await t.pull('--url', t.url, '--insecure');
        expect(r.code, r.stderr).toBe(0);
      }
    } finally {
      t.close();
    }
  });
});
