import { readFileSync } from 'node:fs';
import { StileError, StileErrorCode, type GateConfig } from '@stile/config';

/** The site's ID-card HMAC key, from the config inline value or its key file. */
export function loadIdHashKey(cfg: GateConfig): string {
  const spec = cfg.keys.idHash;
  if (spec.value !== undefined) return spec.value;
  try {
    const key = readFileSync(spec.file!, 'utf8').trim();
    if (key.length < 32) throw new Error('key shorter than 32 characters');
    return key;
  } catch (err) {
    throw new StileError(StileErrorCode.KeyInvalid, `keys.idHash.file ${spec.file}: ${(err as Error).message}`);
  }
}
