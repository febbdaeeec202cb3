import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { encodeBundle, isStileError, keyFingerprint, signBundle, type ProvisionRole } from '@stile/config';
import { loadCloudConfig, type LoadedCloudConfig } from '../config.js';
import { DeviceRegistry } from '../core/device-registry.js';
import { CloudStore } from '../core/db/store.js';
import { isCloudError } from '../core/errors.js';
import { planBundle, ROLE_KIND } from '../provisioning.js';

export const PROVISION_USAGE =
  'usage: stile-cloud gates add|rotate SITE GATE --config cloud.yaml [--zone Z] [--valid-hours N] [--json]\n' +
  '       stile-cloud kiosks add|rotate SITE KIOSK --config cloud.yaml --api-key-file F [--cash-api-key-file F] [--valid-hours N] [--json]\n' +
  '       stile-cloud announcers add|rotate SITE ID --config cloud.yaml [--valid-hours N] [--json]\n' +
  '       stile-cloud gates|kiosks|announcers revoke SITE ID --config cloud.yaml\n' +
  '  add/rotate print a provisioning bundle once (a secret: it holds the device\'s token); docs/provisioning.md\n' +
  '  gate|kiosk|announcer add|rotate|revoke (singular) are the same commands; they also print the bare token';

const ROLES: Record<string, { role: ProvisionRole; compat: boolean }> = {
  gates: { role: 'gate', compat: false },
  kiosks: { role: 'kiosk', compat: false },
  announcers: { role: 'announcer', compat: false },
  gate: { role: 'gate', compat: true },
  kiosk: { role: 'kiosk', compat: true },
  announcer: { role: 'announcer', compat: true },
};

const CTL: Record<ProvisionRole, string> = { gate: 'gatectl provision -', kiosk: 'kioskctl provision -', announcer: 'stile-announcer provision -' };

function readKeyFile(flag: string, path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').split('\n')[0]!.trim();
  } catch (e) {
    throw new Error(`${flag} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  if (text === '') throw new Error(`${flag} ${path}: the file is empty`);
  return text;
}

/**
 * `stile-cloud gates|kiosks|announcers add|rotate|revoke SITE ID`: the device's credential in
 * the registry and, for add/rotate, the one-time provisioning bundle the device reads with its
 * own `provision` command. The singular words (`gate add`, the older commands) do the same and
 * also print `username:`/`token:` lines, and when cloud.yaml cannot make a bundle (no
 * mqtt.publicUrl) they still issue the credential as they always did.
 * Exit 0 done, 1 refused, 2 bad usage.
 */
export async function provisionCommand(argv: string[], env: NodeJS.ProcessEnv, out: (s: string) => void, err: (s: string) => void, now: () => Date = () => new Date()): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        json: { type: 'boolean' },
        zone: { type: 'string' },
        'valid-hours': { type: 'string' },
        'api-key-file': { type: 'string' },
        'cash-api-key-file': { type: 'string' },
      },
    });
  } catch (e) {
    err(`${(e as Error).message}\n${PROVISION_USAGE}\n`);
    return 2;
  }
  const [word, action, site, device, ...extra] = parsed.positionals;
  const spec = ROLES[word ?? ''];
  const v = parsed.values;
  if (!spec || !['add', 'rotate', 'revoke'].includes(action ?? '') || !site || !device || extra.length > 0 || !v.config) {
    err(`stile-cloud: ${v.config ? 'say what to do' : '--config is required'}\n${PROVISION_USAGE}\n`);
    return 2;
  }
  const { role, compat } = spec;
  const kind = ROLE_KIND[role];
  const validHours = v['valid-hours'] === undefined ? undefined : Number(v['valid-hours']);
  if (validHours !== undefined && !/^\d+$/.test(v['valid-hours']!)) {
    err(`stile-cloud: --valid-hours ${v['valid-hours']}: a whole number of hours\n`);
    return 2;
  }
  let loaded: LoadedCloudConfig;
  try {
    loaded = loadCloudConfig(v.config, env);
  } catch (e) {
    err(`${isStileError(e) || isCloudError(e) ? e.message : String(e)}\n`);
    return 1;
  }
  const o = loaded.options;
  const store = await CloudStore.open({ ...(o.databaseUrl ? { databaseUrl: o.databaseUrl } : {}), ...(o.sqlitePath ? { sqlitePath: o.sqlitePath } : {}) });
  try {
    const registry = new DeviceRegistry(store);
    for (const s of o.sites) await store.ensureSite(s.id, s.controlKey.id);
    const current = (await registry.list(site)).find((r) => r.kind === kind && r.device === device);
    if (action === 'revoke') {
      if (!(await registry.revoke(site, kind, device))) {
        err(`stile-cloud: ${role} ${device} at ${site} has no active credential\n`);
        return 1;
      }
      out(
        `${role} ${device} at ${site}: credential ${current?.username ?? device} revoked; the broker and the cloud refuse it from now on (a connected ${role} within 5 s)\n` +
          (loaded.broker ? '' : `with an external broker (Mosquitto) also remove the user: mosquitto_passwd -D /etc/mosquitto/stile.passwd ${current?.username ?? '<user>'} && kill -HUP $(pidof mosquitto)\n`),
      );
      return 0;
    }
    // Plural add never replaces a working credential by accident; rotate says it means to.
    if (!compat && action === 'add' && current && current.revokedAt === null) {
      err(`stile-cloud: ${role} ${device} at ${site} already has a credential (since ${current.createdAt}): "stile-cloud ${word} rotate ${site} ${device}" makes a new one and a new bundle (the old token stops working)\n`);
      return 1;
    }
    if (!compat && action === 'rotate' && !current) {
      err(`stile-cloud: ${role} ${device} at ${site} has no credential to rotate: add it with "stile-cloud ${word} add ${site} ${device}"\n`);
      return 1;
    }
    const at = now();
    let apiKey: string | undefined;
    let cashApiKey: string | undefined;
    try {
      if (v['api-key-file']) apiKey = readKeyFile('--api-key-file', v['api-key-file']);
      if (v['cash-api-key-file']) cashApiKey = readKeyFile('--cash-api-key-file', v['cash-api-key-file']);
    } catch (e) {
      err(`stile-cloud: ${(e as Error).message}\n`);
      return 1;
    }
    const planned = planBundle(loaded, v.config, {
      role,
      site,
      device,
      now: at,
      ...(v.zone !== undefined ? { zone: v.zone } : {}),
      ...(validHours !== undefined ? { validHours } : {}),
      ...(apiKey ? { apiKey } : {}),
      ...(cashApiKey ? { cashApiKey } : {}),
    });
    if (!planned.ok && !compat) {
      err(`stile-cloud: ${planned.message}; no credential was issued\n`);
      return 1;
    }
    if (!o.sites.some((s) => s.id === site)) {
      err(`stile-cloud: unknown site "${site}" (not in ${v.config})\n`);
      return 1;
    }
    const cred = await registry.issue(site, kind, device);
    const issued = `${role} ${device} at ${site}: new credential ${cred.username}${current ? ' (the previous token stops working now)' : ''}`;
    if (!planned.ok) {
      // The older commands: the bare credential, as before, and why there is no bundle.
      if (v.json) out(`${JSON.stringify({ ...cred, bundle: null, noBundle: planned.message })}\n`);
      else out(`username: ${cred.username}\ntoken: ${cred.token}\n(shown once: write the token to the ${role}'s password file, mode 0600)\nno provisioning bundle: ${planned.message}\n`);
      return 0;
    }
    const { contents, signingKey, notes } = planned.plan;
    const bundle = signBundle({ ...contents, broker: { ...contents.broker, token: cred.token } }, signingKey);
    const text = encodeBundle(bundle);
    const fingerprint = keyFingerprint(contents.keys.control[0]!.publicKey);
    const mosquitto = loaded.broker ? [] : [`with an external broker (Mosquitto) add ${cred.username} and its token to the broker's password file (the token: --json prints it; docs/provisioning.md)`];
    if (v.json) {
      out(`${JSON.stringify({ role, site, device, username: cred.username, token: cred.token, bundle: text, issuedAt: bundle.issuedAt, expiresAt: bundle.expiresAt, signedBy: { keyId: signingKey.keyId, fingerprint }, notes })}\n`);
      return 0;
    }
    out(
      [
        issued,
        ...(compat ? [`username: ${cred.username}`, `token: ${cred.token}`] : []),
        `provisioning bundle, valid until ${bundle.expiresAt}. It is a SECRET (it holds the ${role}'s broker token): shown once; do not mail or paste it into a chat; a lost one is replaced with "stile-cloud ${role}s rotate ${site} ${device}".`,
        `On the ${role} run: sudo ${CTL[role]}   then paste the line below, Enter, Ctrl-D`,
        '',
        text,
        '',
        `signed by control key ${signingKey.keyId}, fingerprint ${fingerprint}: the ${role} prints the same fingerprint`,
        ...notes.map((n) => `note: ${n}`),
        ...mosquitto,
        '',
      ].join('\n'),
    );
    return 0;
  } catch (e) {
    err(`stile-cloud: ${(e as Error).message}\n`);
    return 1;
  } finally {
    await store.close();
  }
}
