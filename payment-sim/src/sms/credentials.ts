/**
 * The SMS accounts the simulator plays: an Alibaba Cloud AccessKey pair and a Tencent Cloud
 * SecretId/SecretKey with an SMS application (SdkAppId). Generated on first start in the
 * state directory and kept (simulator/sms.json); the secrets are also written where the
 * merchant reads them (merchant/…, mode 0600), as a real account's would be handed over.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SmsCredentials {
  aliyun: { accessKeyId: string; accessKeySecret: string };
  tencent: { secretId: string; secretKey: string; smsSdkAppId: string };
  /** Merchant-side files holding the secrets. */
  files: { aliyunAccessKeySecret: string; tencentSecretKey: string };
}

const alnum = (n: number): string => {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(n)].map((b) => abc[b % abc.length]).join('');
};
const digits = (n: number): string => [...randomBytes(n)].map((b) => String(b % 10)).join('');

export function loadOrCreateSmsCredentials(stateDir: string): SmsCredentials {
  const simDir = join(stateDir, 'simulator');
  const merchantDir = join(stateDir, 'merchant');
  mkdirSync(simDir, { recursive: true });
  mkdirSync(merchantDir, { recursive: true });
  const path = join(simDir, 'sms.json');
  let creds: Omit<SmsCredentials, 'files'>;
  if (existsSync(path)) creds = JSON.parse(readFileSync(path, 'utf8')) as Omit<SmsCredentials, 'files'>;
  else {
    creds = {
      aliyun: { accessKeyId: `LTAI5t${alnum(18)}`, accessKeySecret: alnum(30) },
      tencent: { secretId: `AKID${alnum(32)}`, secretKey: alnum(32), smsSdkAppId: `1400${digits(6)}` },
    };
    writeFileSync(path, JSON.stringify(creds, null, 2), { mode: 0o600 });
  }
  const files = { aliyunAccessKeySecret: join(merchantDir, 'aliyun-sms-access-key-secret'), tencentSecretKey: join(merchantDir, 'tencent-sms-secret-key') };
  writeFileSync(files.aliyunAccessKeySecret, `${creds.aliyun.accessKeySecret}\n`, { mode: 0o600 });
  writeFileSync(files.tencentSecretKey, `${creds.tencent.secretKey}\n`, { mode: 0o600 });
  return { ...creds, files };
}
