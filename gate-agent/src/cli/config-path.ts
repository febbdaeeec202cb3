import { existsSync } from 'node:fs';

/** --config, then $STILE_CONFIG, then ./gate.yaml, then /etc/stile/gate.yaml. */
export function findConfigPath(flag: string | undefined): string {
  if (flag) return flag;
  if (process.env.STILE_CONFIG) return process.env.STILE_CONFIG;
  for (const p of ['gate.yaml', '/etc/stile/gate.yaml']) if (existsSync(p)) return p;
  return 'gate.yaml';
}
