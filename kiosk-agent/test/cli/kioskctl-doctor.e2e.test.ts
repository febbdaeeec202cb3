/**
 * `kioskctl doctor` end to end: the built CLI against a kiosk on simulated devices (ESC/POS
 * printer, ccTalk validator and hopper, payment-code scanner, GA/T 467 reader) and a real
 * cloud — first with stile-kiosk running (the printer and cash are asked through its control
 * socket), then stopped (the doctor opens the devices itself), and each fault a kiosk
 * technician meets: paper out, few coins left, the cash line unplugged, a key file anyone can read.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { doctor } from '@stile/gate-agent';
import { startKiosk, type KioskDaemon } from '../../src/daemon/kiosk-daemon.js';
import { startKioskPark, until, type KioskPark } from '../daemon/kiosk-harness.js';

const KIOSKCTL = fileURLToPath(new URL('../../bin/kioskctl.js', import.meta.url));

let park: KioskPark;
let kiosk: KioskDaemon | undefined;
let env: NodeJS.ProcessEnv;

interface Run {
  code: number;
  stdout: string;
  results: doctor.CheckResult[];
  byId(id: string): doctor.CheckResult;
}

function kioskDoctor(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [KIOSKCTL, '--config', park.configFile, 'doctor', '--json', '--user', 'root', ...args], { encoding: 'utf8', env }, (err, stdout) => {
      const results = JSON.parse(stdout) as doctor.CheckResult[];
      resolve({
        code: err ? Number(err.code) : 0,
        stdout,
        results,
        byId: (id) => results.find((r) => r.id === id) ?? (() => { throw new Error(`no ${id} in ${stdout}`); })(),
      });
    });
  });
}

beforeAll(async () => {
  park = await startKioskPark();
  // As provisioning writes them: the API keys readable by root and the stile group only.
  for (const f of ['kiosk.key', 'kiosk-cash.key']) chmodSync(join(park.dir, f), 0o640);
  // This build machine runs no systemd: a timedatectl that says NTP is synchronised.
  const bin = join(park.dir, 'fake-bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'timedatectl'), '#!/bin/sh\necho yes\n', { mode: 0o755 });
  env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, STILE_KIOSK_CONFIG: '' };
  kiosk = await startKiosk(park.config());
  await until(() => kiosk!.runtime.state().dev.printerReady && kiosk!.runtime.state().dev.validatorReady, 'the devices ready');
}, 60_000);

afterAll(async () => {
  await kiosk?.stop();
  await park?.close();
});

describe('kioskctl doctor with stile-kiosk running', () => {
  it('passes every check; the printer and cash as the daemon sees them', async () => {
    const r = await kioskDoctor();
    expect(r.results.filter((x) => x.status !== 'pass'), r.stdout).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.results.map((x) => x.id)).toEqual(['config', 'device:printer', 'device:cash', 'device:qr-serial', 'device:idcard', 'printer', 'cash', 'clock', 'disk', 'database', 'wal', 'broker', 'keys', 'outbox']);
    expect(r.byId('printer').detail).toBe('ready (asked through stile-kiosk)');
    expect(r.byId('cash').detail).toContain('200 coin(s) counted');
    expect(r.byId('clock').detail).toMatch(/the cloud$/);
    expect(r.byId('broker').detail).toContain('offline device');
  });

  it('paper out: the printer check fails with what to do', async () => {
    park.printer.setPaperOut();
    try {
      await until(() => !kiosk!.runtime.state().dev.printerReady, 'the kiosk to see paper out');
      const r = await kioskDoctor();
      expect(r.byId('printer')).toMatchObject({ status: 'fail', problem: 'printer.fault', detail: expect.stringContaining('paper_out') });
      expect(r.byId('printer').fix).toContain('load a new roll');
      expect(r.code).toBe(1);
    } finally {
      park.printer.loadPaper();
    }
    await until(() => kiosk!.runtime.state().dev.printerReady, 'the printer ready again');
  });

  it('an API key file anyone may read fails the config check', async () => {
    chmodSync(join(park.dir, 'kiosk.key'), 0o644);
    try {
      const r = await kioskDoctor();
      expect(r.byId('config')).toMatchObject({ status: 'fail', problem: 'config.world_readable', detail: expect.stringContaining('cloud.apiKeyFile') });
      expect(r.byId('config').fix).toBe(`\`chown root:root ${join(park.dir, 'kiosk.key')} && chmod 0640 ${join(park.dir, 'kiosk.key')}\``);
    } finally {
      chmodSync(join(park.dir, 'kiosk.key'), 0o640);
    }
  });
});

describe('kioskctl doctor with stile-kiosk stopped: the devices asked directly', () => {
  beforeAll(async () => {
    await kiosk?.stop();
    kiosk = undefined;
  });

  it('the printer answers its status, the validator and hopper their polls, the reader "find card"', async () => {
    const r = await kioskDoctor();
    expect(r.results.filter((x) => x.status !== 'pass'), r.stdout).toEqual([]);
    expect(r.byId('printer').detail).toBe('ready, paper ok (asked on its port)');
    expect(r.byId('cash').detail).toMatch(/^bill validator ready, hopper ready, 200 coin\(s\) counted \(polled on the ccTalk line\)$/);
    expect(r.byId('device:idcard').detail).toContain('answered "find card": no_card');
  });

  it('few coins left in the hopper: a warning to refill', async () => {
    const db = new Database(join(park.dir, 'journal.db'));
    db.prepare("UPDATE meta SET value = '12' WHERE key = 'hopper_coins'").run();
    db.close();
    const r = await kioskDoctor();
    expect(r.byId('cash')).toMatchObject({ status: 'warn', problem: 'cash.hopper_low', detail: '12 coin(s) counted (warn under 50)' });
    expect(r.byId('cash').fix).toContain('kioskctl refill --coins N');
    expect(r.code).toBe(1);
  });

  it('the cash line unplugged: the device is gone and the validator does not answer', async () => {
    await park.cash.unplug();
    try {
      const r = await kioskDoctor();
      expect(r.byId('device:cash')).toMatchObject({ status: 'fail', problem: 'device.missing' });
      expect(r.byId('cash')).toMatchObject({ status: 'fail', problem: 'cash.validator' });
      expect(r.code).toBe(1);
    } finally {
      await park.cash.replug();
    }
  });
});
