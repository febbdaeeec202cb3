import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { generateSigningKeyPair, openBundle, topics } from '@stile/config';
import { provisionCommand } from '../src/bin/provision-command.js';
import { clientIdAllowed, mayPublish, maySubscribe } from '../src/broker-acl.js';

const KIOSK_KEY = 'kiosk-channel-key-for-the-command-test-01';
const WECHAT_KEY = 'wechat-channel-key-for-the-command-test-1';
const NOW = new Date('2026-12-01T08:00:00Z');
let dir = '';

function writeCloud(name: string, over: { mqtt?: Record<string, unknown>; http?: Record<string, unknown> } = {}): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    stringify({
      mqtt: { url: 'mqtt://127.0.0.1:1', ...over.mqtt },
      http: { port: 0, ...over.http },
      database: { sqlitePath: `${name}.db` },
      sites: [
        {
          id: 'west-lake',
          controlKey: { id: 'ck1', privateKeyFile: 'control.pem' },
          offlineKeys: [{ id: 'site-k1', publicKey: generateSigningKeyPair('site-k1').publicKey }],
          sales: { catalogueFile: 'catalogue.yaml', capacity: { daily: 5000 }, idHashKey: 'id-hash-key-for-the-command-test-0123456' },
        },
      ],
    }),
  );
  return file;
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await provisionCommand(args, {}, (s) => (out += s), (s) => (err += s), () => NOW);
  return { code, out, err };
}

const bundleOf = (out: string) => out.split('\n').find((l) => l.startsWith('STILE1-'))!;

let full = '';
let bare = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'stile-provision-cmd-'));
  writeFileSync(join(dir, 'control.pem'), generateSigningKeyPair('ck1').privateKeyPem);
  const catalogue = parse(readFileSync(new URL('../../docs/examples/catalogue.yaml', import.meta.url), 'utf8')) as { channels: { id: string; apiKeySha256: string }[] };
  const sha = (t: string) => createHash('sha256').update(t).digest('hex');
  catalogue.channels.find((c) => c.id === 'kiosk')!.apiKeySha256 = sha(KIOSK_KEY);
  catalogue.channels.find((c) => c.id === 'wechat')!.apiKeySha256 = sha(WECHAT_KEY);
  writeFileSync(join(dir, 'catalogue.yaml'), stringify(catalogue));
  writeFileSync(join(dir, 'kiosk.key'), `${KIOSK_KEY}\n`);
  writeFileSync(join(dir, 'wechat.key'), `${WECHAT_KEY}\n`);
  full = writeCloud('full', { mqtt: { publicUrl: 'mqtts://mqtt.park.example:8883', protocolVersion: 5 }, http: { publicUrl: 'https://cloud.park.example' } });
  bare = writeCloud('bare');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('stile-cloud gates|kiosks|announcers add', () => {
  it('a gate bundle carries the broker, the cloud URL, the keys, the ID hash key and the ticket types', async () => {
    const r = await cli(['gates', 'add', 'west-lake', 'north-1', '--config', full, '--valid-hours', '2']);
    expect(r.code, r.err).toBe(0);
    const opened = openBundle(bundleOf(r.out), { role: 'gate', now: NOW });
    if (!opened.ok) throw new Error(opened.message);
    const b = opened.bundle;
    expect(b.expiresAt).toBe('2026-12-01T10:00:00.000Z');
    expect(b.broker).toMatchObject({ url: 'mqtts://mqtt.park.example:8883', username: 'gate.west-lake.north-1', protocolVersion: 5 });
    expect(b.cloudUrl).toBe('https://cloud.park.example');
    expect(b.device).toEqual({ id: 'north-1', zone: 'main' });
    expect(b.keys.offline?.map((k) => k.id)).toEqual(['site-k1']);
    expect(b.keys.idHash).toBe('id-hash-key-for-the-command-test-0123456');
    expect((b.ticketTypes as { id: string }[]).map((t) => t.id)).toContain('adult@night');
    expect(r.out).not.toMatch(/^token: /m); // the plural word prints the token only inside the bundle
    expect(r.out).toContain('with an external broker (Mosquitto) add gate.west-lake.north-1');
  });

  it('cloud.yaml without mqtt.publicUrl: a clear line and no credential issued; the old singular word still issues one', async () => {
    const r = await cli(['gates', 'add', 'west-lake', 'g2', '--config', bare]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`stile-cloud: ${bare}: mqtt.publicUrl is not set: devices need the broker address they dial (e.g. mqtts://mqtt.park.example:8883); add it and run again (docs/provisioning.md); no credential was issued\n`);
    expect((await cli(['gates', 'rotate', 'west-lake', 'g2', '--config', bare])).err).toContain('has no credential to rotate');
    const old = await cli(['gate', 'add', 'west-lake', 'g2', '--config', bare]);
    expect(old.code, old.err).toBe(0);
    expect(old.out).toMatch(/^username: gate\.west-lake\.g2\ntoken: [A-Za-z0-9_-]{43}\n/);
    expect(old.out).toContain('no provisioning bundle: ');
  });

  it('refuses plain http to a remote cloud, a bad device id and a bad --valid-hours before issuing anything', async () => {
    const plain = writeCloud('plain', { mqtt: { publicUrl: 'mqtt://10.0.0.2:1883' }, http: { publicUrl: 'http://10.0.0.2:8080' } });
    expect((await cli(['gates', 'add', 'west-lake', 'g3', '--config', plain])).err).toMatch(/http\.publicUrl: plain http:\/\/ to 10\.0\.0\.2 would send the gate's credential .*in the clear/);
    expect((await cli(['gates', 'add', 'west-lake', 'North_1', '--config', full])).err).toMatch(/gate id "North_1": lowercase letters, digits and dashes/);
    expect((await cli(['gates', 'add', 'west-lake', 'g4', '--config', full, '--valid-hours', '0'])).err).toMatch(/--valid-hours 0: a whole number of hours from 1 to 720/);
    expect((await cli(['gates', 'add', 'nowhere', 'g4', '--config', full])).err).toMatch(/unknown site "nowhere"/);
    expect((await cli(['gates', 'revoke', 'west-lake', 'g3', '--config', full])).err).toContain('has no active credential');
  });

  it('a kiosk bundle needs the kiosk channel\'s API key, and only a kiosk channel\'s', async () => {
    expect((await cli(['kiosks', 'add', 'west-lake', 'k1', '--config', full])).err).toMatch(/give --api-key-file FILE/);
    expect((await cli(['kiosks', 'add', 'west-lake', 'k1', '--config', full, '--api-key-file', join(dir, 'wechat.key')])).err).toMatch(/channel "wechat"'s, a channel of kind online: a kiosk needs a channel of kind kiosk/);
    const r = await cli(['kiosks', 'add', 'west-lake', 'k1', '--config', full, '--api-key-file', join(dir, 'kiosk.key')]);
    expect(r.code, r.err).toBe(0);
    const opened = openBundle(bundleOf(r.out), { role: 'kiosk', now: NOW });
    if (!opened.ok) throw new Error(opened.message);
    expect(opened.bundle.kiosk).toEqual({ channel: 'kiosk', apiKey: KIOSK_KEY, payment: 'partner', offlineKeyId: 'k1-st2' });
    expect(opened.bundle.broker.username).toBe('kiosk.west-lake.k1');
    expect(r.out).toContain('note: kiosk k1 is not in');
  });

  it('an announcer gets its own device kind, a bundle with control keys only, and reads nothing but capacity and announcements', async () => {
    const r = await cli(['announcers', 'add', 'west-lake', 'pa-1', '--config', full, '--json']);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as { username: string; bundle: string; signedBy: { keyId: string } };
    expect(j.username).toBe('announcer.west-lake.pa-1');
    const opened = openBundle(j.bundle, { role: 'announcer', now: NOW });
    if (!opened.ok) throw new Error(opened.message);
    expect(opened.bundle.keys).toEqual({ control: [expect.objectContaining({ id: 'ck1' })] });
    expect(opened.bundle.cloudUrl).toBeUndefined();
    const pa = { kind: 'announcer' as const, site: 'west-lake', id: 'pa-1' };
    expect(maySubscribe(pa, topics.capacity('west-lake'))).toBe(true);
    expect(maySubscribe(pa, topics.announce('west-lake'))).toBe(true);
    expect(maySubscribe(pa, topics.whitelistDelta('west-lake'))).toBe(false);
    expect(maySubscribe(pa, topics.capacity('other'))).toBe(false);
    expect(maySubscribe(pa, 'stile/#')).toBe(false);
    expect(mayPublish(pa, topics.announce('west-lake'))).toBe(false);
    expect(mayPublish(pa, topics.capacity('west-lake'))).toBe(false);
    expect(clientIdAllowed(pa, 'stile-announcer-west-lake-pa-1')).toBe(true);
    expect(clientIdAllowed(pa, 'stile-screen-west-lake-pa-1')).toBe(false);
  });

  it('revoke, then rotate makes a new bundle for the same device', async () => {
    const r = await cli(['gates', 'revoke', 'west-lake', 'north-1', '--config', full]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('credential gate.west-lake.north-1 revoked');
    const rot = await cli(['gates', 'rotate', 'west-lake', 'north-1', '--config', full]);
    expect(rot.code, rot.err).toBe(0);
    expect(rot.out).toContain('(the previous token stops working now)');
    expect(bundleOf(rot.out)).toMatch(/^STILE1-/);
  });
});
