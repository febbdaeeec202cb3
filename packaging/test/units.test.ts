import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The systemd units as systemd itself reads them (systemd-analyze verify), and the shared
// decisions of issue #18 each unit must keep. The install end-to-end test checks the same
// files once installed in a Debian chroot.

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const UNITS = join(REPO, 'packaging/systemd');
const ROLES = [
  { role: 'gate', bin: 'gate-agent/bin/stile-gate.js', devices: true },
  { role: 'kiosk', bin: 'kiosk-agent/bin/stile-kiosk.js', devices: true },
  { role: 'announcer', bin: 'announcer/bin/stile-announcer.js', devices: true },
  { role: 'cloud', bin: 'cloud-bridge/bin/stile-cloud.js', devices: false },
] as const;
const HOST_UNITS = '/usr/lib/systemd/system';
const canVerify = spawnSync('systemd-analyze', ['--version']).status === 0 && existsSync(join(HOST_UNITS, 'sysinit.target'));

/** A unit file's [Service]/[Unit] settings; a key given twice keeps every value. */
function parseUnit(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('[')) continue;
    const eq = line.indexOf('=');
    const key = line.slice(0, eq);
    out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1)]);
  }
  return out;
}

describe('systemd units (packaging/systemd)', () => {
  for (const { role, bin, devices } of ROLES) {
    it(`stile-${role}.service keeps the shared decisions`, () => {
      const unit = parseUnit(readFileSync(join(UNITS, `stile-${role}.service`), 'utf8'));
      const one = (k: string) => unit.get(k)?.at(-1);
      expect(one('ExecStart')).toBe(`/opt/stile/current/${bin} --config /etc/stile/${role}.yaml`);
      expect(existsSync(join(REPO, bin))).toBe(true);
      expect(one('ConditionPathExists')).toBe(`/etc/stile/${role}.yaml`);
      for (const [k, v] of Object.entries({
        Type: 'notify', NotifyAccess: 'main', WatchdogSec: '30s', Restart: 'on-failure', RestartSec: '2s',
        User: 'stile', Group: 'stile', StateDirectory: 'stile', ConfigurationDirectory: 'stile', RuntimeDirectory: 'stile',
        ProtectSystem: 'strict', ReadWritePaths: '/var/lib/stile', ProtectHome: 'yes', PrivateTmp: 'yes', NoNewPrivileges: 'yes',
        RestrictAddressFamilies: 'AF_UNIX AF_INET AF_INET6 AF_NETLINK', LockPersonality: 'yes', WantedBy: 'multi-user.target',
      })) {
        expect(one(k), k).toBe(v);
      }
      // Serial ports, hidraw, gpiochip, /dev/snd: a device ACL (ProtectClock implies one) would lock them out.
      if (devices) {
        expect(unit.has('PrivateDevices')).toBe(false);
        expect(unit.has('DeviceAllow')).toBe(false);
        expect(unit.has('ProtectClock')).toBe(false);
      } else {
        expect(one('PrivateDevices')).toBe('yes');
      }
      // V8's JIT writes executable memory: this setting would kill every daemon at start.
      expect(unit.has('MemoryDenyWriteExecute')).toBe(false);
    });
  }

  describe.skipIf(!canVerify)('as systemd reads them', () => {
    let root: string;
    beforeAll(() => {
      // A root with the host's own units (sysinit.target …) and executables where ExecStart points.
      root = mkdtempSync(join(tmpdir(), 'stile-units-'));
      cpSync(HOST_UNITS, join(root, HOST_UNITS), { recursive: true });
      mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
      for (const { role, bin } of ROLES) {
        const exe = join(root, 'opt/stile/current', bin);
        mkdirSync(dirname(exe), { recursive: true });
        writeFileSync(exe, '#!/bin/sh\n');
        chmodSync(exe, 0o755);
        cpSync(join(UNITS, `stile-${role}.service`), join(root, 'etc/systemd/system', `stile-${role}.service`));
      }
    });
    afterAll(() => rmSync(root, { recursive: true, force: true }));

    for (const { role } of ROLES) {
      it(`stile-${role}.service passes systemd-analyze verify without a warning, and is well hardened`, () => {
        const unit = `/etc/systemd/system/stile-${role}.service`;
        const verify = spawnSync('systemd-analyze', ['verify', `--root=${root}`, unit], { encoding: 'utf8' });
        expect(verify.stderr).toBe('');
        expect(verify.status).toBe(0);
        // systemd's own exposure score, 0 (locked down) … 10 (exposed); "OK" is below 5.
        const security = spawnSync('systemd-analyze', ['security', `--root=${root}`, '--offline=true', unit], { encoding: 'utf8' });
        const score = Number(/Overall exposure level for \S+: ([\d.]+)/.exec(security.stdout)?.[1]);
        expect(score).toBeLessThan(3);
      });
    }
  });
});
