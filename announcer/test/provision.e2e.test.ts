import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ANNOUNCER_BIN, makeTestCloud, OTHER_SITE, run, SITE, type TestCloud } from '../../gate-agent/test/helpers/provision-cloud.js';
import { loadAnnouncerConfig } from '../src/config.js';

/*
 * `stile-cloud announcers add` → `stile-announcer provision` → an announcer.yaml the daemon
 * loads, logging in as its own `announcer.<site>.<id>` device. The cloud is not running here:
 * the broker check must then fail with a line that says so.
 */

let cloud: TestCloud;
let root = '';
let cfg = '';

const provision = (input: string, extra: string[] = []) => run(ANNOUNCER_BIN, ['provision', '-', '--config', cfg, ...extra], { input });

beforeAll(async () => {
  cloud = await makeTestCloud();
  root = mkdtempSync(join(tmpdir(), 'stile-provision-pa-'));
  cfg = join(root, 'announcer.yaml');
});

afterAll(() => {
  cloud?.cleanup();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('provisioning a PA announcer', { timeout: 120_000 }, () => {
  it('writes announcer.yaml and announcer.pw; the daemon loads it; the broker check says nothing listens', () => {
    const bundle = cloud.bundle(['announcers', 'add', SITE, 'pa-1']);
    const r = provision(bundle);
    expect(r.status, r.stderr).toBe(1); // files written, but the check failed: the cloud is not running
    expect(r.stdout).toContain('wrote ');
    expect(r.stdout).toContain(`check broker: FAIL — nothing listens at ${cloud.brokerUrl} (connection refused)`);
    const loaded = loadAnnouncerConfig(cfg);
    expect(loaded.config.device.id).toBe('pa-1');
    expect(loaded.config.mqtt).toMatchObject({ url: cloud.brokerUrl, username: 'announcer.west-lake.pa-1', clientId: 'stile-announcer-west-lake-pa-1', protocolVersion: 4 });
    expect(loaded.trusted.has('ck1')).toBe(true);
    expect(readFileSync(join(root, 'announcer.pw'), 'utf8')).toMatch(/^[A-Za-z0-9_-]{43}\n$/);
  });

  it('a bundle for another site is refused without --force; with --force the speech settings stay and the old config is kept', () => {
    const doc = parse(readFileSync(cfg, 'utf8')) as Record<string, unknown>;
    doc.speech = { languages: ['zh'], speed: 120 };
    writeFileSync(cfg, stringify(doc));
    const other = cloud.bundle(['announcers', 'add', OTHER_SITE, 'pa-9']);
    let r = provision(other, ['--no-check']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^stile-announcer: this machine is configured for site west-lake; the bundle is for tea-garden: use --force to re-provision, the old config is kept as announcer\.yaml\.bak-\d{8}T\d{6}Z\n$/);
    r = provision(other, ['--no-check', '--force']);
    expect(r.status, r.stderr).toBe(0);
    const after = loadAnnouncerConfig(cfg).config;
    expect(after.site.id).toBe(OTHER_SITE);
    expect(after.speech.languages).toEqual(['zh']);
    expect(after.speech.speed).toBe(120);
    const backup = readdirSync(root).find((f) => f.startsWith('announcer.yaml.bak-'))!;
    expect(parse(readFileSync(join(root, backup), 'utf8')).site.id).toBe(SITE);
  });

  it('a gate bundle is refused by the announcer', () => {
    const r = provision(cloud.bundle(['gates', 'add', SITE, 'g1']), ['--no-check', '--force']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('this is a gate bundle (gate g1 at west-lake); announcer provisioning needs an announcer bundle');
  });
});
