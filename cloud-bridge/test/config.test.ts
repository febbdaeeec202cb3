import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateSigningKeyPair, isStileError, StileErrorCode } from '@stile/config';
import { loadCloudConfig } from '../src/config.js';

function write(text: string, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'stile-cloud-cfg-'));
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
  const file = join(dir, 'cloud.yaml');
  writeFileSync(file, text);
  return file;
}

describe('cloud.yaml', () => {
  const pair = generateSigningKeyPair('ck1');

  it('loads a config, reads the key file relative to it, and defaults to SQLite next to it', () => {
    const file = write(
      ['mqtt:', '  url: mqtt://127.0.0.1:1883', 'sites:', '  - id: park1', '    controlKey: { id: ck1, privateKeyFile: control.pem }', '    gates: [g1, g2]', ''].join('\n'),
      { 'control.pem': pair.privateKeyPem },
    );
    const { options, broker } = loadCloudConfig(file, {});
    expect(options).toMatchObject({ mqttUrl: 'mqtt://127.0.0.1:1883', sharedGroup: 'stile-cloud', httpPort: 8080, unknownGates: 'reject', retainDeltas: 10_000 });
    expect(options.sqlitePath).toBe(join(file, '..', 'cloud.db'));
    expect(options.databaseUrl).toBeUndefined();
    expect(options.salesOptions).toBeUndefined();
    expect(options.sites[0]).toMatchObject({ id: 'park1', controlKey: { id: 'ck1', privateKeyPem: pair.privateKeyPem }, gates: ['g1', 'g2'] });
    expect(broker).toBeUndefined();
  });

  it('takes DATABASE_URL from the environment over the file', () => {
    const file = write(
      ['mqtt: { url: "mqtt://h" }', 'database: { url: "postgres://file/db" }', 'broker: { port: 1884 }', 'sites:', '  - id: park1', '    controlKey:', '      id: ck1', '      privateKeyPem: |', ...pair.privateKeyPem.trim().split('\n').map((l) => `        ${l}`), ''].join('\n'),
    );
    expect(loadCloudConfig(file, {}).options.databaseUrl).toBe('postgres://file/db');
    const { options, broker } = loadCloudConfig(file, { DATABASE_URL: 'postgres://env/db' });
    expect(options.databaseUrl).toBe('postgres://env/db');
    expect(options.sqlitePath).toBeUndefined();
    expect(broker).toEqual({ port: 1884, host: '127.0.0.1' });
  });

  it('names the file and every bad field', () => {
    const file = write(['mqtt: { url: 5 }', 'http: { port: -1 }', 'unknownGates: maybe', 'sites:', '  - id: "bad/site"', '    controlKey: { id: ck1 }', 'extra: 1', ''].join('\n'));
    let err: unknown;
    try {
      loadCloudConfig(file, {});
    } catch (e) {
      err = e;
    }
    expect(isStileError(err, StileErrorCode.ConfigInvalid)).toBe(true);
    const msg = (err as Error).message;
    for (const path of ['mqtt.url', 'http.port', 'unknownGates', 'sites[0].id', 'sites[0].controlKey', '(root)']) expect(msg).toContain(`${file}: ${path}:`);
  });

  it('takes sales tuning and refuses a bad value', () => {
    const base = ['mqtt: { url: "mqtt://h" }', 'sites:', '  - id: park1', '    controlKey: { id: ck1, privateKeyFile: control.pem }'];
    const good = write([...base, 'salesTuning: { availabilityTtlMs: 0, groupCommit: false, groupLanes: 2 }', ''].join('\n'), { 'control.pem': pair.privateKeyPem });
    expect(loadCloudConfig(good, {}).options.salesOptions).toEqual({ availabilityTtlMs: 0, groupCommit: false, groupLanes: 2 });
    const bad = write([...base, 'salesTuning: { maxGroup: 0, lanes: 3 }', ''].join('\n'), { 'control.pem': pair.privateKeyPem });
    expect(() => loadCloudConfig(bad, {})).toThrow(/salesTuning\.maxGroup:[\s\S]*salesTuning:.*lanes/);
  });

  it('reports YAML syntax errors and unreadable files', () => {
    const file = write('mqtt: [unclosed\n');
    expect(() => loadCloudConfig(file, {})).toThrow(/cloud\.yaml: line \d+:/);
    expect(() => loadCloudConfig('/nonexistent/cloud.yaml', {})).toThrow(/\/nonexistent\/cloud\.yaml: cannot read config/);
  });

  it('loads a site\'s sales: the documented example catalogue, capacity defaults, the ID hash key from a file', () => {
    const catalogue = readFileSync(new URL('../../docs/examples/catalogue.yaml', import.meta.url), 'utf8');
    const file = write(
      ['mqtt: { url: "mqtt://h" }', 'sites:', '  - id: park1', '    controlKey: { id: ck1, privateKeyFile: control.pem }', '    sales:', '      catalogueFile: catalogue.yaml', '      capacity: { daily: 5000 }', '      idHashKeyFile: id.key', '      reportAt: "21:30"', ''].join('\n'),
      { 'control.pem': pair.privateKeyPem, 'catalogue.yaml': catalogue, 'id.key': 'a-long-enough-id-hash-key-0123456789\n' },
    );
    const sales = loadCloudConfig(file, {}).options.sites[0]!.sales!;
    expect(sales.catalogue.ticketTypes.map((t) => t.id)).toEqual(['adult', 'child', 'senior', 'family', 'weekend']);
    expect(sales.capacity).toMatchObject({ daily: 5000, yellow: 0.7, orange: 0.85, red: 1, kioskReserve: 250 });
    expect(sales.idHashKey).toBe('a-long-enough-id-hash-key-0123456789');
    expect(sales.reportAt).toBe('21:30');
  });

  it('names the file and the catalogue path of every mistake, and bad capacity thresholds', () => {
    const bad = readFileSync(new URL('../../docs/examples/catalogue.yaml', import.meta.url), 'utf8').replace('type: family, priceFen: 17000', 'type: vip, priceFen: 17000');
    const file = write(
      ['mqtt: { url: "mqtt://h" }', 'sites:', '  - id: park1', '    controlKey: { id: ck1, privateKeyFile: control.pem }', '    sales: { catalogueFile: catalogue.yaml, capacity: { daily: 5000 }, idHashKey: a-long-enough-id-hash-key-0123456789 }', ''].join('\n'),
      { 'control.pem': pair.privateKeyPem, 'catalogue.yaml': bad },
    );
    expect(() => loadCloudConfig(file, {})).toThrow(/sites\[0\]\.sales\.catalogue \(catalogue\.yaml\).*pricing\[4\]\.type: unknown ticket type "vip"/s);
    const thresholds = write(
      ['mqtt: { url: "mqtt://h" }', 'sites:', '  - id: park1', '    controlKey: { id: ck1, privateKeyFile: control.pem }', '    sales: { catalogueFile: catalogue.yaml, capacity: { daily: 5000, yellow: 0.9 }, idHashKey: a-long-enough-id-hash-key-0123456789 }', ''].join('\n'),
      { 'control.pem': pair.privateKeyPem, 'catalogue.yaml': bad },
    );
    expect(() => loadCloudConfig(thresholds, {})).toThrow(/orange \(0\.85\) must be above yellow \(0\.9\)/);
  });

  it('reports every site\'s mistakes at once, those in the files a site names included', () => {
    const catalogue = readFileSync(new URL('../../docs/examples/catalogue.yaml', import.meta.url), 'utf8');
    const file = write(
      [
        'mqtt: { url: "mqtt://h" }',
        'sites:',
        '  - id: park1',
        '    controlKey: { id: ck1, privateKeyFile: missing.pem }',
        '    sales: { catalogueFile: broken.yaml, capacity: { daily: 5000 }, idHashKeyFile: short.key }',
        '  - id: "park/2"',
        '    controlKey: { id: ck1, privateKeyFile: control.pem }',
        '  - id: park3',
        '    controlKey: { id: ck1, privateKeyFile: control.pem }',
        '    sales: { catalogueFile: catalogue.yaml, capacity: { daily: -1 }, idHashKey: a-long-enough-id-hash-key-0123456789 }',
        '',
      ].join('\n'),
      { 'control.pem': pair.privateKeyPem, 'catalogue.yaml': catalogue, 'broken.yaml': 'ticketTypes:\n  - { id: adult\n', 'short.key': 'short\n' },
    );
    const err = (() => {
      try {
        return loadCloudConfig(file, {});
      } catch (e) {
        return e;
      }
    })();
    expect(isStileError(err, StileErrorCode.ConfigInvalid)).toBe(true);
    const msg = (err as Error).message;
    expect(msg).toContain(`${file}: sites[0].controlKey.privateKeyFile: cannot read:`);
    expect(msg).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: sites\\[0\\]\\.sales\\.catalogueFile \\(broken\\.yaml\\) line \\d+:\\d+: `));
    expect(msg).toContain(`${file}: sites[0].sales.idHashKeyFile: the key in short.key has 5 characters`);
    expect(msg).toContain(`${file}: sites[1].id: letters, digits`);
    expect(msg).toContain(`${file}: sites[2].sales.capacity.daily:`);
    expect((err as { details: unknown[] }).details.length).toBe(msg.split('\n').length);
  });

  it('names the line and column of a YAML syntax error', () => {
    const file = write('mqtt:\n  url: "mqtt://h"\nsites: [ { id: park1 }\n');
    expect(() => loadCloudConfig(file, {})).toThrow(/cloud\.yaml: line \d+:\d+: /);
  });
});
