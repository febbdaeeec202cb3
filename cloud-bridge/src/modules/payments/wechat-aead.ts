/**
 * WeChat Pay notification resources (回调报文解密): AEAD_AES_256_GCM under the merchant's
 * 32-byte APIv3 key, with the resource's `nonce` (12 bytes) as IV and its `associated_data`
 * as AAD; `ciphertext` is base64 of the encrypted text followed by the 16-byte tag.
 *
 * The tag is checked (setAuthTag before final): a changed ciphertext, tag, nonce or AAD, or
 * another key, is refused with payment_undecryptable — never decrypted to garbage, which is
 * what an implementation that skips the tag (wechatpay-node-v3's decipher_gcm) does.
 */
import { createDecipheriv } from 'node:crypto';
import { CloudError } from '../../core/errors.js';

export const AEAD_AES_256_GCM = 'AEAD_AES_256_GCM';
const TAG_BYTES = 16;

export interface EncryptedResource {
  algorithm: string;
  ciphertext: string;
  nonce: string;
  associated_data?: string;
  original_type?: string;
}

/** The plaintext of an encrypted resource, as UTF-8 text. */
export function decryptWechatResource(apiV3Key: Buffer, resource: EncryptedResource): string {
  if (resource.algorithm !== AEAD_AES_256_GCM) {
    throw new CloudError('payment_undecryptable', `WeChat Pay: resource algorithm ${resource.algorithm}, expected ${AEAD_AES_256_GCM}`, { reason: 'algorithm' });
  }
  return aesGcmOpen(apiV3Key, resource.nonce, resource.associated_data ?? '', resource.ciphertext).toString('utf8');
}

/** AES-256-GCM open of base64(ciphertext ‖ tag); key must be 32 bytes. */
export function aesGcmOpen(key: Buffer, nonce: string, associatedData: string, ciphertextB64: string): Buffer {
  if (key.length !== 32) throw new CloudError('payment_config', 'APIv3 key must be 32 bytes');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(ciphertextB64)) throw new CloudError('payment_undecryptable', 'WeChat Pay: ciphertext is not base64', { reason: 'not_base64' });
  const data = Buffer.from(ciphertextB64, 'base64');
  if (data.length < TAG_BYTES) throw new CloudError('payment_undecryptable', 'WeChat Pay: ciphertext shorter than its tag', { reason: 'too_short' });
  const iv = Buffer.from(nonce, 'utf8');
  if (iv.length === 0) throw new CloudError('payment_undecryptable', 'WeChat Pay: empty nonce', { reason: 'nonce' });
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    decipher.setAAD(Buffer.from(associatedData, 'utf8'));
    return Buffer.concat([decipher.update(data.subarray(0, data.length - TAG_BYTES)), decipher.final()]);
  } catch (err) {
    throw new CloudError('payment_undecryptable', 'WeChat Pay: resource does not authenticate under the APIv3 key', { reason: 'auth_failed' }, { cause: err });
  }
}
