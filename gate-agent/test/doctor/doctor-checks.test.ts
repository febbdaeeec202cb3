/**
 * The doctor's checks are pure: findings in, one line out. Each branch here with made-up
 * findings, as a technician would meet it; the real probes run in doctor.e2e.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { accessFor, describeNode, parseUser, type NodeInfo } from '../../src/cli/doctor-access.js';
import { checkBroker, checkSnapshot, checkWhitelist, connackWords, type BrokerFacts, type SnapshotFacts } from '../../src/cli/doctor-checks-cloud.js';
import {
  checkClock, checkConfig, checkDatabase, checkDevice, checkDisk, checkKeys, checkOutbox, checkRelay, checkWal, LIMITS, MB,
  type ClockFacts, type DatabaseFacts, type DeviceFacts, type DiskFacts,
} from '../../src/cli/doctor-checks.js';
import { PROBLEMS } from '../../src/cli/doctor-problems.js';
import { parseChronyTracking, probeNtp } from '../../src/cli/doctor-probes.js';
import { doctorExitCode, doctorLines, fillFix, passed, type Role } from '../../src/cli/doctor-report.js';

const role: Role = { unit: 'stile-gate', ctl: 'gatectl', config: '/etc/stile/gate.yaml', user: 'stile' };
const NOW = Date.parse('2026-11-25T04:00:00Z');

const PASSWD = 'root:x:0:0:root:/root:/bin/bash\nstile:x:998:998::/var/lib/stile:/usr/sbin/nologin\n';
const GROUP = 'root:x:0:\ndialout:x:20:stile\nplugdev:x:46:\ngpio:x:997:pi\nstile:x:998:\n';
const stile = parseUser('stile', PASSWD, GROUP)!;
const node = (mode: number, uid: number, gid: number, group?: string, kind: NodeInfo['kind'] = 'char'): NodeInfo => ({ mode, uid, gid, group, owner: uid === 0 ? 'root' : 'stile', kind });

describe('who may use a file: /etc/passwd, /etc/group and the mode bits', () => {
  it('reads the user\'s primary and supplementary groups', () => {
    expect(stile).toEqual({ name: 'stile', uid: 998, gid: 998, groups: [{ name: 'dialout', gid: 20 }, { name: 'stile', gid: 998 }] });
    expect(parseUser('nobody-here', PASSWD, GROUP)).toBeNull();
  });

  it('decides by the owner\'s bits, else the group\'s, else everyone\'s — as the kernel does', () => {
    expect(accessFor(stile, node(0o660, 0, 20), { read: true, write: true })).toEqual({ ok: true, via: 'group' });
    expect(accessFor(stile, node(0o660, 0, 46), { read: true, write: true })).toEqual({ ok: false, via: 'other' });
    // The owner's bits decide even when the group's would allow.
    expect(accessFor(stile, node(0o070, 998, 20), { read: true }).ok).toBe(false);
    expect(accessFor({ ...stile, uid: 0 }, node(0o000, 5, 5), { read: true, write: true })).toEqual({ ok: true, via: 'root' });
    expect(describeNode(node(0o660, 0, 20, 'dialout'))).toBe('crw-rw---- root:dialout');
  });
});

describe('config', () => {
  const base = { file: '/etc/stile/gate.yaml', error: null, summary: 'site demo-park, gate east-1', user: stile };
  const file = (label: string, path: string, mode: number, secret: boolean, uid = 0, gid = 998) => ({ label, path, node: node(mode, uid, gid, 'stile', 'file'), secret });

  it('passes with secrets root:stile 0640', () => {
    const r = checkConfig({ ...base, files: [file('config', '/etc/stile/gate.yaml', 0o640, false), file('mqtt.passwordFile', '/etc/stile/mqtt.pw', 0o640, true)] }, role);
    expect(r).toMatchObject({ id: 'config', status: 'pass', fix: null });
    expect(r.detail).toContain('2 file(s) readable by stile, 1 secret(s) not world-readable');
  });

  it('fails on a validation error, with the first problem and how many more', () => {
    const r = checkConfig({ ...base, error: { code: 'CONFIG_INVALID', message: 'gate.yaml: relay.pulseMs: too small\ngate.yaml: site.id: expected lowercase' }, files: [] }, role);
    expect(r).toMatchObject({ status: 'fail', problem: 'config.invalid', detail: 'gate.yaml: relay.pulseMs: too small (and 1 more problem)' });
    expect(r.fix).toContain('/etc/stile/gate.yaml');
    expect(r.fix).toContain('systemctl restart stile-gate');
  });

  it('a world-readable secret and a secret the daemon cannot read each name the file and the chmod', () => {
    const open = checkConfig({ ...base, files: [file('keys.idHash.file', '/etc/stile/idhash.key', 0o644, true)] }, role);
    expect(open).toMatchObject({ status: 'fail', problem: 'config.world_readable' });
    expect(open.fix).toBe('`chown root:stile /etc/stile/idhash.key && chmod 0640 /etc/stile/idhash.key`');
    const closed = checkConfig({ ...base, files: [file('mqtt.passwordFile', '/etc/stile/mqtt.pw', 0o600, true, 0, 0)] }, role);
    expect(closed).toMatchObject({ status: 'fail', problem: 'config.unreadable_by_user' });
    expect(closed.detail).toBe('mqtt.passwordFile: /etc/stile/mqtt.pw is -rw------- root:stile: stile cannot read it');
  });

  it('a missing key file fails; a missing daemon user only warns', () => {
    expect(checkConfig({ ...base, files: [{ label: 'mqtt.passwordFile', path: '/etc/stile/mqtt.pw', node: null, secret: true }] }, role)).toMatchObject({ status: 'fail', problem: 'config.secret_missing' });
    expect(checkConfig({ ...base, user: null, files: [] }, role)).toMatchObject({ status: 'warn', problem: 'config.user_missing' });
  });
});

describe('device:<name>', () => {
  const dev = (over: Partial<DeviceFacts>): DeviceFacts => ({
    name: 'idcard', kind: 'idcard-ga467', where: '/dev/ttyUSB0', node: node(0o660, 0, 20, 'dialout'), want: { read: true, write: true }, daemon: { running: false }, answer: null, user: stile, ...over,
  });

  it('missing, and the daemon\'s user outside the node\'s group or shut out by its mode', () => {
    expect(checkDevice(dev({ node: null }), role)).toMatchObject({ id: 'device:idcard', status: 'fail', problem: 'device.missing' });
    const group = checkDevice(dev({ node: node(0o660, 0, 46, 'plugdev') }), role);
    expect(group).toMatchObject({ status: 'fail', problem: 'device.no_group', fix: '`usermod -aG plugdev stile`, then `systemctl restart stile-gate`' });
    expect(checkDevice(dev({ node: node(0o600, 0, 0, 'root') }), role)).toMatchObject({ status: 'fail', problem: 'device.node_mode' });
  });

  it('with the daemon running: its own view of the device decides', () => {
    expect(checkDevice(dev({ daemon: { running: true, state: 'ok' } }), role)).toMatchObject({ status: 'pass' });
    expect(checkDevice(dev({ daemon: { running: true, state: 'reconnecting', error: '/dev/ttyUSB0: no such device' } }), role)).toMatchObject({ status: 'fail', problem: 'device.fault', detail: expect.stringContaining('reconnecting (/dev/ttyUSB0: no such device)') });
    expect(checkDevice(dev({ daemon: { running: true, state: 'wrong_mode', error: 'keyboard mode' } }), role)).toMatchObject({ status: 'fail', problem: 'device.wrong_mode' });
    expect(checkDevice(dev({ daemon: { running: true, state: 'starting' } }), role)).toMatchObject({ status: 'warn', problem: 'device.starting' });
  });

  it('with the daemon stopped: what the device answered', () => {
    expect(checkDevice(dev({ answer: { ok: true, detail: 'answered "find card": no_card' } }), role)).toMatchObject({ status: 'pass', detail: expect.stringContaining('no_card') });
    expect(checkDevice(dev({ answer: { ok: false, reason: 'silent', detail: 'no answer' } }), role)).toMatchObject({ status: 'fail', problem: 'device.silent' });
    expect(checkDevice(dev({ answer: { ok: false, reason: 'busy', detail: 'in use' } }), role).fix).toBe('find it with `fuser -v /dev/ttyUSB0` and stop it (a second daemon, a serial terminal)');
    expect(checkDevice(dev({ node: 'none', kind: 'log relay', where: 'the log' }), role)).toMatchObject({ status: 'pass' });
  });
});

describe('relay (--relay)', () => {
  it('is not pulsed while the daemon holds it, and fails when it did not switch', () => {
    expect(checkRelay({ daemonRunning: true }, role)).toMatchObject({ status: 'warn', problem: 'relay.daemon_running' });
    expect(checkRelay({ daemonRunning: false, kind: 'lcus', pulses: 0, error: 'no such device' }, role)).toMatchObject({ status: 'fail', problem: 'relay.failed' });
    expect(checkRelay({ daemonRunning: false, kind: 'log', pulses: 1, error: null }, role).status).toBe('pass');
  });
});

describe('clock', () => {
  const clock = (over: Partial<ClockFacts>): ClockFacts => ({ now: NOW, ntp: { state: 'yes', source: 'timedatectl' }, cloud: null, newestRecordAt: null, ...over });

  it('passes when NTP is synchronised and the cloud agrees within 60 s', () => {
    expect(checkClock(clock({ cloud: { url: 'https://cloud', offsetMs: 1200 } }), role)).toMatchObject({ status: 'pass', detail: expect.stringContaining('1 s ahead of the cloud') });
  });

  it('a clock far off the cloud\'s fails, even with NTP saying yes', () => {
    const r = checkClock(clock({ cloud: { url: 'https://cloud', offsetMs: -61_000 } }), role);
    expect(r).toMatchObject({ status: 'fail', problem: 'clock.off', detail: expect.stringContaining('61 s behind the cloud') });
  });

  it('a board that booted in 1970 fails before anything else', () => {
    expect(checkClock(clock({ now: 0 }), role)).toMatchObject({ status: 'fail', problem: 'clock.implausible', detail: 'the clock says 1970-01-01T00:00:00.000Z' });
  });

  it('records dated after now are a jump back', () => {
    expect(checkClock(clock({ newestRecordAt: NOW + 3 * 3600_000 }), role)).toMatchObject({ status: 'warn', problem: 'clock.jump_back', detail: expect.stringContaining('3 h after now') });
    expect(checkClock(clock({ newestRecordAt: NOW + 30_000 }), role).status).toBe('pass');
  });

  it('NTP not synchronised or unknown: a warning', () => {
    expect(checkClock(clock({ ntp: { state: 'no', source: 'chronyc tracking' } }), role)).toMatchObject({ status: 'warn', problem: 'clock.not_synced' });
    expect(checkClock(clock({ ntp: { state: 'unknown', source: 'no chronyc' } }), role)).toMatchObject({ status: 'warn', problem: 'clock.unknown' });
  });

  it('NTP is asked through timedatectl, the timesyncd flag file, then chrony', () => {
    const none = () => {
      throw new Error('ENOENT');
    };
    expect(probeNtp(() => 'yes\n', '/nonexistent')).toEqual({ state: 'yes', source: 'timedatectl' });
    expect(probeNtp((cmd) => (cmd === 'chronyc' ? 'Reference ID    : C0A80101\nLeap status     : Not synchronised\n' : none()), '/nonexistent')).toEqual({ state: 'no', source: 'chronyc tracking' });
    expect(probeNtp(none, '/nonexistent').state).toBe('unknown');
    expect(parseChronyTracking('Leap status     : Normal')).toBe('yes');
  });
});

describe('disk', () => {
  const GB = 1024 * MB;
  const disk = (over: Partial<DiskFacts>): DiskFacts => ({ dir: '/var/lib/stile', dirNode: node(0o750, 998, 998, 'stile', 'dir'), space: { totalBytes: 16 * GB, freeBytes: 8 * GB }, writable: { ok: true }, dbBytes: 150 * MB, user: stile, ...over });

  it('fails under 5 % or 200 MB free, warns under 10 % or the database size + 200 MB', () => {
    expect(checkDisk(disk({}), role).status).toBe('pass');
    expect(checkDisk(disk({ space: { totalBytes: 100 * GB, freeBytes: 4 * GB } }), role)).toMatchObject({ status: 'fail', problem: 'disk.full' });
    expect(checkDisk(disk({ space: { totalBytes: 2 * GB, freeBytes: 199 * MB } }), role)).toMatchObject({ status: 'fail', problem: 'disk.full' });
    expect(checkDisk(disk({ space: { totalBytes: 16 * GB, freeBytes: 1.5 * GB } }), role)).toMatchObject({ status: 'warn', problem: 'disk.low' });
    expect(checkDisk(disk({ space: { totalBytes: 3 * GB, freeBytes: 340 * MB } }), role)).toMatchObject({ status: 'warn', problem: 'disk.low' });
  });

  it('a read-only filesystem fails with the remedy, and so does a directory the daemon cannot write', () => {
    const ro = checkDisk(disk({ writable: { ok: false, code: 'EROFS' } }), role);
    expect(ro).toMatchObject({ status: 'fail', problem: 'disk.read_only' });
    expect(ro.fix).toContain('replace the SD card');
    expect(checkDisk(disk({ dirNode: node(0o755, 0, 0, 'root', 'dir') }), role)).toMatchObject({ status: 'fail', problem: 'disk.no_write', fix: '`chown stile:stile /var/lib/stile && chmod 0750 /var/lib/stile`' });
    expect(checkDisk(disk({ dirNode: null }), role)).toMatchObject({ status: 'fail', problem: 'disk.missing_dir' });
  });
});

describe('database and wal', () => {
  const db = (over: Partial<DatabaseFacts>): DatabaseFacts => ({ file: '/var/lib/stile/gate.db', exists: true, sizeBytes: 150 * MB, error: null, quickCheck: ['ok'], userVersion: 6, knownVersion: 6, rebuild: '`gatectl restore`', ...over });

  it('quick_check ok passes; a damaged page or a file that is not a database fails with the recovery steps', () => {
    expect(checkDatabase(db({}), role).status).toBe('pass');
    const bad = checkDatabase(db({ quickCheck: ['*** in database main ***\nPage 12: btreeInitPage() returns error code 11', 'row 3 missing from index'] }), role);
    expect(bad).toMatchObject({ status: 'fail', problem: 'database.corrupt' });
    expect(bad.fix).toContain('mv /var/lib/stile/gate.db /var/lib/stile/gate.db.damaged');
    expect(bad.fix).toContain('`gatectl restore`');
    expect(checkDatabase(db({ error: { code: 'SQLITE_NOTADB', message: 'file is not a database' } }), role)).toMatchObject({ status: 'fail', problem: 'database.corrupt' });
    expect(checkDatabase(db({ error: { code: 'SQLITE_CANTOPEN', message: 'unable to open database file' } }), role)).toMatchObject({ status: 'fail', problem: 'database.unreadable' });
  });

  it('a newer schema fails, an older one passes (migrated at the next start), a missing or empty file fails', () => {
    expect(checkDatabase(db({ userVersion: 9 }), role)).toMatchObject({ status: 'fail', problem: 'database.newer_schema' });
    expect(checkDatabase(db({ userVersion: 4 }), role)).toMatchObject({ status: 'pass', detail: expect.stringContaining('migrated to 6 at the next start') });
    expect(checkDatabase(db({ exists: false }), role)).toMatchObject({ status: 'fail', problem: 'database.missing' });
    expect(checkDatabase(db({ sizeBytes: 0 }), role)).toMatchObject({ status: 'fail', problem: 'database.missing', detail: expect.stringContaining('empty') });
  });

  it('a WAL above 64 MB warns', () => {
    expect(checkWal({ file: '/var/lib/stile/gate.db', bytes: null }, role).status).toBe('pass');
    expect(checkWal({ file: '/var/lib/stile/gate.db', bytes: 4 * MB }, role).status).toBe('pass');
    expect(checkWal({ file: '/var/lib/stile/gate.db', bytes: LIMITS.walWarnBytes + 1 }, role)).toMatchObject({ status: 'warn', problem: 'wal.large' });
  });
});

describe('keys', () => {
  const keys = { today: '2026-11-25', offline: [{ id: 'k1' }], control: [{ id: 'c1' }], needControl: true, loaded: null, invalid: null };

  it('expired fails, within 30 days warns with the date, a rotated-out key is named', () => {
    expect(checkKeys(keys, role).status).toBe('pass');
    const expired = checkKeys({ ...keys, offline: [{ id: 'k0', notAfter: '2026-11-24' }, { id: 'k1' }] }, role);
    expect(expired).toMatchObject({ status: 'fail', problem: 'keys.expired', detail: 'offline key k0 expired after 2026-11-24' });
    // Valid through its notAfter day.
    expect(checkKeys({ ...keys, control: [{ id: 'c1', notAfter: '2026-11-25' }] }, role)).toMatchObject({ status: 'warn', problem: 'keys.expiring', detail: 'control key c1 expires after 2026-11-25 (0 days)' });
    const soon = checkKeys({ ...keys, offline: [{ id: 'k1', notAfter: '2026-12-20' }] }, role);
    expect(soon).toMatchObject({ status: 'warn', problem: 'keys.expiring' });
    expect(soon.fix).toContain('before 2026-12-20');
    expect(checkKeys({ ...keys, offline: [{ id: 'k1', notAfter: '2027-01-30' }] }, role).status).toBe('pass');
  });

  it('no control key with a cloud fails; a daemon running with other keys than the config\'s warns', () => {
    expect(checkKeys({ ...keys, control: [] }, role)).toMatchObject({ status: 'fail', problem: 'keys.no_control' });
    expect(checkKeys({ ...keys, loaded: [{ id: 'k0', notAfter: null }] }, role)).toMatchObject({ status: 'warn', problem: 'keys.restart' });
    expect(checkKeys({ ...keys, loaded: [{ id: 'k1', notAfter: null }] }, role).status).toBe('pass');
    expect(checkKeys({ ...keys, invalid: 'offline key "k1": not an Ed25519 public key' }, role)).toMatchObject({ status: 'fail', problem: 'keys.invalid' });
  });
});

describe('outbox', () => {
  it('warns above 1000 events or 10 minutes, fails when full; an offline device passes', () => {
    const o = { depth: 3, oldestAt: NOW - 20_000, now: NOW, max: 1_000_000, linked: true };
    expect(checkOutbox(o, role)).toMatchObject({ status: 'pass', detail: '3 event(s) waiting, the oldest for 20 s' });
    expect(checkOutbox({ ...o, oldestAt: NOW - 11 * 60_000 }, role)).toMatchObject({ status: 'warn', problem: 'outbox.backlog' });
    expect(checkOutbox({ ...o, depth: 1001 }, role)).toMatchObject({ status: 'warn', problem: 'outbox.backlog' });
    expect(checkOutbox({ ...o, depth: 1_000_000 }, role)).toMatchObject({ status: 'fail', problem: 'outbox.full' });
    expect(checkOutbox({ ...o, depth: 5000, linked: false }, role).status).toBe('pass');
  });
});

describe('broker', () => {
  const b = (result: Extract<BrokerFacts, { configured: true }>['result']): BrokerFacts => ({ configured: true, url: 'mqtts://cloud.example:8883', username: 'gate.demo-park.east-1', caFile: '/etc/stile/ca.pem', topic: 'stile/demo-park/whitelist/head', result });

  it('says CONNACK refusals in words, for MQTT 3.1.1 and 5', () => {
    expect(connackWords(4, 5)).toEqual({ words: 'not authorized (CONNACK code 5)', key: 'broker.bad_credentials' });
    expect(connackWords(5, 0x86)).toEqual({ words: 'bad user name or password (CONNACK code 134)', key: 'broker.bad_credentials' });
    expect(connackWords(5, 0x85).key).toBe('broker.client_id');
    expect(connackWords(5, 1).key).toBe('broker.protocol'); // a 3.1.1 broker answering an MQTT 5 CONNECT
    expect(connackWords(5, 0x77).words).toBe('refused with CONNACK code 119');
  });

  it('each way a connection fails maps to its fix', () => {
    expect(checkBroker({ configured: false }, role)).toMatchObject({ status: 'pass', detail: expect.stringContaining('offline') });
    expect(checkBroker(b({ ok: true, protocol: 5, granted: true }), role)).toMatchObject({ status: 'pass', detail: expect.stringContaining('TLS with CA /etc/stile/ca.pem') });
    const creds = checkBroker(b({ ok: false, stage: 'connack', protocol: 4, code: 4, message: 'Connection refused: Bad username or password' }), role);
    expect(creds).toMatchObject({ status: 'fail', problem: 'broker.bad_credentials', detail: expect.stringContaining('as gate.demo-park.east-1: bad user name or password') });
    expect(creds.fix).toContain('stile-cloud gates rotate');
    const net = checkBroker(b({ ok: false, stage: 'network', code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 10.0.0.5:8883' }), role);
    expect(net).toMatchObject({ problem: 'broker.unreachable' });
    expect(net.fix).toContain('`nc -vz cloud.example 8883`');
    expect(checkBroker(b({ ok: false, stage: 'tls', code: 'SELF_SIGNED_CERT_IN_CHAIN', message: 'self-signed certificate in certificate chain' }), role).fix).toContain('/etc/stile/ca.pem');
    expect(checkBroker(b({ ok: true, protocol: 4, granted: false }), role)).toMatchObject({ status: 'fail', problem: 'broker.not_subscribed' });
    expect(checkBroker(b({ ok: false, stage: 'file', file: '/etc/stile/mqtt.pw', message: 'ENOENT' }), role)).toMatchObject({ problem: 'broker.file', fix: expect.stringContaining('/etc/stile/mqtt.pw') });
  });
});

describe('snapshot and whitelist', () => {
  const snap = (result: Extract<SnapshotFacts, { configured: true }>['result']): SnapshotFacts => ({ configured: true, url: 'https://cloud.example', site: 'demo-park', username: 'gate.demo-park.east-1', result });
  const header = { site: 'demo-park', asOfSeq: '42' };

  it('reachable and signed passes; refused, unreachable, foreign or forged fails', () => {
    expect(checkSnapshot(snap({ ok: true, header, headerError: null, signature: { via: 'snapshot', ok: true } }), role).status).toBe('pass');
    expect(checkSnapshot(snap({ ok: false, stage: 'http', status: 401, message: 'HTTP 401' }), role)).toMatchObject({ status: 'fail', problem: 'snapshot.refused' });
    expect(checkSnapshot(snap({ ok: false, stage: 'http', status: 404, message: 'HTTP 404' }), role)).toMatchObject({ status: 'fail', problem: 'snapshot.http' });
    expect(checkSnapshot(snap({ ok: false, stage: 'network', message: 'ENOTFOUND' }), role)).toMatchObject({ status: 'fail', problem: 'snapshot.unreachable' });
    expect(checkSnapshot(snap({ ok: true, header: { site: 'other-park', asOfSeq: '1' }, headerError: null, signature: { via: 'snapshot', ok: true } }), role)).toMatchObject({ problem: 'snapshot.invalid' });
    expect(checkSnapshot(snap({ ok: true, header, headerError: null, signature: { via: 'delta', ok: false, reason: 'unknown_key', detail: 'key "c9"' } }), role)).toMatchObject({ status: 'fail', problem: 'snapshot.bad_signature' });
    expect(checkSnapshot(snap({ ok: true, header, headerError: null, signature: { via: 'none', why: 'no delta yet' } }), role)).toMatchObject({ status: 'warn', problem: 'snapshot.unverified' });
    expect(checkSnapshot({ configured: false, linked: true }, role)).toMatchObject({ status: 'warn', problem: 'snapshot.not_configured' });
    expect(checkSnapshot({ configured: false, linked: false }, role).status).toBe('pass');
  });

  it('compares the local seq with the cloud head; an offline gate by its age', () => {
    const w = { tickets: 1000, seq: '42', importedAt: '2026-11-25T01:00:00Z', now: NOW, linked: true, cloudHead: { seq: '42', source: 'the snapshot URL' } };
    expect(checkWhitelist(w, role).status).toBe('pass');
    expect(checkWhitelist({ ...w, cloudHead: { seq: '50', source: 'x' } }, role)).toMatchObject({ status: 'warn', problem: 'whitelist.behind', detail: expect.stringContaining('8 change(s) behind') });
    expect(checkWhitelist({ ...w, cloudHead: { seq: '40', source: 'x' } }, role)).toMatchObject({ status: 'warn', problem: 'whitelist.ahead' });
    expect(checkWhitelist({ ...w, cloudHead: null }, role)).toMatchObject({ status: 'warn', problem: 'whitelist.head_unknown' });
    expect(checkWhitelist({ ...w, tickets: 0, seq: null }, role)).toMatchObject({ status: 'fail', problem: 'whitelist.empty' });
    expect(checkWhitelist({ ...w, linked: false, importedAt: '2026-11-23T01:00:00Z' }, role)).toMatchObject({ status: 'warn', problem: 'whitelist.stale' });
    expect(checkWhitelist({ ...w, linked: false }, role).status).toBe('pass');
  });
});

describe('the report', () => {
  it('prints one line per check with the fix after it, and exits 0 only when all pass', () => {
    const results = [passed('config', 'valid'), checkWal({ file: '/d/gate.db', bytes: 100 * MB }, role)];
    const lines = doctorLines(results);
    expect(lines[0]).toBe('PASS  config    valid');
    expect(lines[1]).toMatch(/^WARN {2}wal {7}\/d\/gate\.db-wal is 100\.0 MB \(warn above 64\.0 MB\) → stop long-running readers of \/d\/gate\.db, then `systemctl restart stile-gate`/);
    expect(lines[2]).toBe('2 checks: 1 passed, 1 warning, 0 failed (exit code 1)');
    expect(doctorExitCode(results)).toBe(1);
    expect(doctorExitCode([results[0]!])).toBe(0);
  });

  it('every catalogue entry names its check and fills only placeholders the checks provide', () => {
    expect(fillFix('chmod {mode} {file}', { file: 'x' })).toBe('chmod <mode> x');
    const known = new Set(['unit', 'ctl', 'config', 'user', 'file', 'path', 'name', 'group', 'dir', 'rebuild', 'url', 'host', 'port', 'username', 'caFile', 'topic', 'reason', 'site', 'date']);
    for (const [key, p] of Object.entries(PROBLEMS)) {
      expect(key.startsWith(`${p.check.split(',')[0]}.`) || key.startsWith('doctor.'), key).toBe(true);
      for (const [, name] of p.fix.matchAll(/\{(\w+)\}/g)) expect(known.has(name!), `${key}: {${name}}`).toBe(true);
    }
  });
});
