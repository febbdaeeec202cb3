import { existsSync } from 'node:fs';

/** Where a device's config is looked for: gatectl's gate.yaml by default; kioskctl passes its own. */
export interface ConfigLookup {
  /** The environment variable that names the file. */
  env: string;
  /** The file name, tried in the working directory and then in /etc/stile. */
  file: string;
}

const GATE: ConfigLookup = { env: 'STILE_CONFIG', file: 'gate.yaml' };

/** --config, then $STILE_CONFIG, then ./gate.yaml, then /etc/stile/gate.yaml (or the lookup's own names). */
export function findConfigPath(flag: string | undefined, lookup: ConfigLookup = GATE): string {
  if (flag) return flag;
  const fromEnv = process.env[lookup.env];
  if (fromEnv) return fromEnv;
  for (const p of [lookup.file, `/etc/stile/${lookup.file}`]) if (existsSync(p)) return p;
  return lookup.file;
}
