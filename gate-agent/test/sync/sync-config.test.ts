import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateSigningKeyPair, isStileError, loadGateConfig } from '@stile/config';
import { clientIdOf, mqttOptions, nextReconnectMs } from '../../src/sync/mqtt-options.js';

const control = generateSigningKeyPair('c1').publicKey;
const BASE = `
version: 1
site: { id: west-lake }
gate: { id: north-2 }
store: { path: gate.db }
ticketTypes: [{ id: adult, name: Adult }]
inputs: [{ type: lines, path: /run/stile/scan.fifo }]
`;

function load(text: string) {
  const file = join(mkdtempSync(join(tmpdir(), 'stile-cfg-')), 'gate.yaml');
  writeFileSync(file, text);
  return loadGateConfig(file);
}

describe('gate.yaml mqtt and keys.control', () => {
  it('mqtt is optional; with it the defaults apply and file paths resolve next to gate.yaml', () => {
    expect(load(`${BASE}keys: { idHash: { value: "0123456789abcdef0123456789abcdef" } }\n`).mqtt).toBeUndefined();
    const cfg = load(`${BASE}keys:
  idHash: { value: "0123456789abcdef0123456789abcdef" }
  control: [{ id: c1, publicKey: "${control}" }]
mqtt: { url: "mqtts://broker:8883", passwordFile: secrets/mqtt.pw, snapshotUrl: "https://cloud:8443" }
`);
    expect(cfg.mqtt).toMatchObject({ batchSize: 200, outboxMax: 1_000_000, keepaliveSec: 30, protocolVersion: 5, snapshotUrl: 'https://cloud:8443', snapshotMaxBytes: 1024 ** 3, snapshotTimeoutSec: 900 });
    expect(cfg.mqtt!.passwordFile).toMatch(/^\/.*secrets\/mqtt\.pw$/);
    expect(clientIdOf(cfg)).toBe('stile-west-lake-north-2');
  });

  it('protocolVersion 4 (MQTT 3.1.1, e.g. the embedded Aedes) connects without v5 properties', () => {
    const cfg = load(`${BASE}keys:
  idHash: { value: "0123456789abcdef0123456789abcdef" }
  control: [{ id: c1, publicKey: "${control}" }]
mqtt: { url: "mqtt://127.0.0.1:1883", protocolVersion: 4 }
`);
    const will = { topic: 'w', payload: '{}' };
    const v4 = mqttOptions(cfg as typeof cfg & { mqtt: NonNullable<typeof cfg.mqtt> }, will);
    expect(v4.protocolVersion).toBe(4);
    expect(v4.properties).toBeUndefined();
    expect(v4.clean).toBe(false);
    const v5 = mqttOptions({ ...cfg, mqtt: { ...cfg.mqtt!, protocolVersion: 5 } }, will);
    expect(v5.properties).toEqual({ sessionExpiryInterval: 600 });
  });

  it('mqtt without a control key, or a batch size outside 100–500, is refused', () => {
    let err: unknown;
    try {
      load(`${BASE}keys: { idHash: { value: "0123456789abcdef0123456789abcdef" } }\nmqtt: { url: "mqtt://broker", batchSize: 1000 }\n`);
    } catch (e) {
      err = e;
    }
    expect(isStileError(err)).toBe(true);
    expect((err as Error).message).toMatch(/keys\.control: mqtt needs at least one control key/);
    expect((err as Error).message).toMatch(/mqtt\.batchSize/);
  });

  it('snapshotUrl must be https:// unless the host is loopback or insecure: true is set', () => {
    const withUrl = (url: string, extra = '') => `${BASE}keys:
  idHash: { value: "0123456789abcdef0123456789abcdef" }
  control: [{ id: c1, publicKey: "${control}" }]
mqtt: { url: "mqtts://broker:8883", snapshotUrl: "${url}"${extra} }
`;
    for (const url of ['http://cloud:8080', 'http://10.0.0.5', 'http://127.0.0.1.evil.example', 'http://localhost.evil.example:80']) {
      let err: unknown;
      try {
        load(withUrl(url));
      } catch (e) {
        err = e;
      }
      expect(isStileError(err), url).toBe(true);
      expect((err as Error).message).toMatch(/: mqtt\.snapshotUrl: plain http:\/\/ to .* in the clear; use https:\/\/ \(or set mqtt\.insecure: true/);
    }
    // Loopback: a single-box install; the URL parser normalises the host first.
    for (const url of ['http://127.0.0.1:8080', 'http://127.9.8.7', 'http://localhost:8080', 'http://[::1]:8080', 'http://2130706433/', 'https://cloud.example']) {
      expect(load(withUrl(url)).mqtt!.snapshotUrl, url).toBe(url);
    }
    expect(load(withUrl('http://cloud:8080', ', insecure: true')).mqtt).toMatchObject({ snapshotUrl: 'http://cloud:8080', insecure: true });
    expect(() => load(withUrl('http://cloud:8080', ', insecure: false'))).toThrow(/mqtt\.insecure/);
    expect(() => load(withUrl('https://cloud', ', snapshotMaxBytes: 1.5'))).toThrow(/mqtt\.snapshotMaxBytes/);
  });

  it('reconnect backoff doubles up to the maximum, with at most 25 % jitter', () => {
    expect(nextReconnectMs(1000, 1000, 60_000, () => 0)).toBe(2000);
    expect(nextReconnectMs(50_000, 1000, 60_000, () => 0)).toBe(60_000);
    expect(nextReconnectMs(60_000, 1000, 60_000, () => 1)).toBe(75_000);
  });
});

describe('gatectl status: the sync block', () => {
  it('shows connection, uplink, downlink and control counters', async () => {
    const { syncLines } = await import('../../src/cli/status-lines.js');
    const { newSyncStatus } = await import('../../src/sync/status.js');
    const s = newSyncStatus('mqtt://broker:1883');
    s.connected = true;
    s.connectedAt = '2026-11-25T10:00:00.000Z';
    s.outboxDepth = 12;
    s.outboxFull = true;
    s.whitelistSeq = '42';
    s.dropped = { bad_signature: 2 };
    s.commands = { done: 1 };
    s.locked = true;
    s.resync = { ...s.resync, state: 'snapshot', since: '2026-11-25T10:01:00.000Z', bytes: 1000, tickets: 10 };
    const text = syncLines(s).join('\n');
    expect(text).toContain('connected to mqtt://broker:1883');
    expect(text).toContain('outbox 12 OUTBOX FULL');
    expect(text).toContain('whitelist seq 42');
    expect(text).toContain('resync snapshot since 2026-11-25T10:01:00.000Z: 1000 bytes, 10 tickets');
    expect(text).toContain('dropped bad_signature=2; commands done=1; GATE LOCKED');
  });
});
