/**
 * Keys and certificates of the payment providers, read from files. Key material never
 * leaves the KeyObject: nothing here logs or returns PEM text; callers log serials and key
 * ids only.
 */
import { readFileSync } from 'node:fs';
import { X509Certificate, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { CloudError } from '../../core/errors.js';

function readKeyFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new CloudError('payment_config', `${what}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { path }, { cause: err });
  }
}

/** Base64 without the PEM armour (Alipay's key tool writes keys like this). */
function bareDer(text: string): Buffer | undefined {
  const compact = text.replace(/\s+/g, '');
  return /^[A-Za-z0-9+/]+={0,2}$/.test(compact) ? Buffer.from(compact, 'base64') : undefined;
}

/** An RSA private key: PEM (PKCS#8 or PKCS#1) or bare base64 DER (PKCS#8, then PKCS#1). */
export function loadPrivateKey(path: string, what = 'private key'): KeyObject {
  const text = readKeyFile(path, what);
  try {
    if (text.includes('-----BEGIN')) return checkRsa(createPrivateKey(text), path, what);
    const der = bareDer(text);
    if (der !== undefined) {
      try {
        return checkRsa(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }), path, what);
      } catch {
        return checkRsa(createPrivateKey({ key: der, format: 'der', type: 'pkcs1' }), path, what);
      }
    }
  } catch (err) {
    if (err instanceof CloudError) throw err;
    throw new CloudError('payment_config', `${what}: ${path} is not an RSA private key`, { path }, { cause: err });
  }
  throw new CloudError('payment_config', `${what}: ${path} is not an RSA private key`, { path });
}

function checkRsa(key: KeyObject, path: string, what: string): KeyObject {
  if (key.asymmetricKeyType !== 'rsa') throw new CloudError('payment_config', `${what}: ${path} holds a ${key.asymmetricKeyType ?? 'non-RSA'} key, not RSA`, { path });
  return key;
}

/** A key that verifies the provider's signatures, with the id the provider names it by. */
export interface VerifierKey {
  /** Platform certificate serial (upper-case hex) or WeChat Pay public key id (PUB_KEY_ID_…). */
  serial: string;
  key: KeyObject;
  /** Certificate validity; absent for a bare public key. */
  notBefore?: Date;
  notAfter?: Date;
}

/**
 * A provider's verifying key from a file: an X.509 certificate (its serial number names it,
 * its validity is kept) or a public key (PEM SPKI/PKCS#1, or bare base64 SPKI), whose id
 * must then be given (`serial`: WeChat Pay's PUB_KEY_ID_…; anything for Alipay).
 */
export function loadVerifierKey(path: string, serial?: string, what = 'platform key'): VerifierKey {
  const text = readKeyFile(path, what);
  if (text.includes('-----BEGIN CERTIFICATE-----')) {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(text);
    } catch (err) {
      throw new CloudError('payment_config', `${what}: ${path} is not a readable certificate`, { path }, { cause: err });
    }
    const certSerial = cert.serialNumber.toUpperCase().replace(/^0+(?=.)/, '');
    if (serial !== undefined && serial.toUpperCase() !== certSerial) {
      throw new CloudError('payment_config', `${what}: ${path} has serial ${certSerial}, configured as ${serial}`, { path });
    }
    return { serial: certSerial, key: checkRsa(cert.publicKey, path, what), notBefore: new Date(cert.validFrom), notAfter: new Date(cert.validTo) };
  }
  if (serial === undefined || serial === '') throw new CloudError('payment_config', `${what}: ${path} is a bare public key: configure its id (serial)`, { path });
  try {
    if (text.includes('-----BEGIN')) return { serial, key: checkRsa(createPublicKey(text), path, what) };
    const der = bareDer(text);
    if (der !== undefined) return { serial, key: checkRsa(createPublicKey({ key: der, format: 'der', type: 'spki' }), path, what) };
  } catch (err) {
    if (err instanceof CloudError) throw err;
    throw new CloudError('payment_config', `${what}: ${path} is not an RSA public key or certificate`, { path }, { cause: err });
  }
  throw new CloudError('payment_config', `${what}: ${path} is not an RSA public key or certificate`, { path });
}

/** WeChat Pay's APIv3 key: 32 ASCII characters in a file (surrounding whitespace ignored). */
export function loadApiV3Key(path: string): Buffer {
  const text = readKeyFile(path, 'APIv3 key').trim();
  const key = Buffer.from(text, 'utf8');
  if (key.length !== 32 || !/^[\x21-\x7e]+$/.test(text)) {
    throw new CloudError('payment_config', `APIv3 key: ${path} must hold exactly 32 printable ASCII characters (it holds ${key.length} bytes)`, { path });
  }
  return key;
}
