import { parseArgs } from 'node:util';
import { DEVICE_KINDS, type DeviceKind } from '@stile/config';
import { loadCloudConfig } from '../config.js';
import { DeviceRegistry } from '../core/device-registry.js';
import { CloudStore } from '../core/db/store.js';

export const DEVICE_USAGE =
  'usage: stile-cloud screen add|rotate|revoke SITE SCREEN --config cloud.yaml\n' +
  '       stile-cloud devices list [SITE] --config cloud.yaml';

/**
 * Device credentials from a terminal, on the cloud's own database (the running server reads
 * the registry on every connect and request, and re-checks connected gates within seconds):
 * `add`/`rotate` print the new token once — put it into the gate's `mqtt.passwordFile` (and,
 * with Mosquitto, into its password file); `revoke` refuses the device from then on.
 * Exit 0 done, 1 refused, 2 bad usage.
 */
export async function deviceCommand(argv: string[], env: NodeJS.ProcessEnv, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { config: { type: 'string', short: 'c' }, json: { type: 'boolean' } } });
  } catch (e) {
    err(`${(e as Error).message}\n${DEVICE_USAGE}\n`);
    return 2;
  }
  const [kindWord, action, site, device] = parsed.positionals;
  const listing = kindWord === 'devices' && action === 'list';
  const kind = kindWord as DeviceKind;
  if (!parsed.values.config || (!listing && (!(DEVICE_KINDS as readonly string[]).includes(kind) || !['add', 'rotate', 'revoke'].includes(action ?? '') || !site || !device))) {
    err(`stile-cloud: ${parsed.values.config ? 'say what to do' : '--config is required'}\n${DEVICE_USAGE}\n`);
    return 2;
  }
  const loaded = loadCloudConfig(parsed.values.config, env);
  const o = loaded.options;
  const store = await CloudStore.open({ ...(o.databaseUrl ? { databaseUrl: o.databaseUrl } : {}), ...(o.sqlitePath ? { sqlitePath: o.sqlitePath } : {}) });
  try {
    const registry = new DeviceRegistry(store);
    if (listing) {
      const rows = await registry.list(site);
      if (parsed.values.json) out(`${JSON.stringify(rows)}\n`);
      else for (const r of rows) out(`${r.username}  created ${r.createdAt}${r.revokedAt ? `  REVOKED ${r.revokedAt}` : ''}\n`);
      return 0;
    }
    for (const s of o.sites) await store.ensureSite(s.id, s.controlKey.id);
    if (action === 'revoke') {
      if (!(await registry.revoke(site!, kind, device!))) {
        err(`stile-cloud: ${kind} ${device} at ${site} has no active credential\n`);
        return 1;
      }
      out(`${kind} ${device} at ${site}: credential revoked; it is refused from now on (connected ones within 5 s)\n`);
      return 0;
    }
    if (!o.sites.some((s) => s.id === site)) {
      err(`stile-cloud: unknown site "${site}" (not in ${parsed.values.config})\n`);
      return 1;
    }
    const cred = await registry.issue(site!, kind, device!);
    if (parsed.values.json) out(`${JSON.stringify(cred)}\n`);
    else out(`username: ${cred.username}\ntoken: ${cred.token}\n(shown once: write the token to the ${kind}'s password file, mode 0600)\n`);
    return 0;
  } catch (e) {
    err(`stile-cloud: ${(e as Error).message}\n`);
    return 1;
  } finally {
    await store.close();
  }
}
