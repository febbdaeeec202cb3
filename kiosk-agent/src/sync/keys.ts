import { readFileSync, writeFileSync } from 'node:fs';
import { generateSigningKeyPair, loadSigningKey, StileError, StileErrorCode, type SigningKey } from '@stile/config';

/**
 * The kiosk's own ST2 key pair, made once when the kiosk is provisioned: the private key stays
 * in a file on the kiosk (mode 0600), the public key goes into cloud.yaml (`kiosks[].offlineKey`)
 * and into every gate's `keys.offline`. Refuses to overwrite an existing key file.
 */
export function provisionKioskKey(privateKeyFile: string, keyId: string): { keyId: string; publicKey: string } {
  const pair = generateSigningKeyPair(keyId);
  try {
    writeFileSync(privateKeyFile, pair.privateKeyPem, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    throw new StileError(StileErrorCode.UsageError, `${privateKeyFile}: ${(err as NodeJS.ErrnoException).code === 'EEXIST' ? 'a key file is already there; revoke and remove it first' : (err as Error).message}`);
  }
  return { keyId, publicKey: pair.publicKey };
}

export function loadKioskKey(privateKeyFile: string, keyId: string): SigningKey {
  let pem: string;
  try {
    pem = readFileSync(privateKeyFile, 'utf8');
  } catch (err) {
    throw new StileError(StileErrorCode.KeyInvalid, `${privateKeyFile}: ${(err as Error).message}`);
  }
  return loadSigningKey(keyId, pem);
}
