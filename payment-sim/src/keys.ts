/**
 * The simulator's keys, and the merchant-side files it hands out. On first start in a state
 * directory it generates everything a test merchant needs and writes it there; later starts
 * read the same files, so a configured merchant keeps working. A real merchant key can be
 * used instead by giving its public key (merchantPublicKeyPath / appPublicKeyPath): then the
 * simulator holds no merchant secret at all.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SimIdentity {
  wechat: {
    mchid: string;
    appid: string;
    /** Serial of the merchant API certificate the simulator accepts. */
    merchantSerial: string;
    /** The WeChat Pay public key id the simulator signs under (public-key mode, PUB_KEY_ID_…). */
    platformKeyId: string;
  };
  alipay: {
    appId: string;
    /** The merchant's Alipay user id (2088…), in bills and notifications. */
    sellerId: string;
  };
}

export interface SimKeyOptions {
  stateDir: string;
  identity?: Partial<{ wechat: Partial<SimIdentity['wechat']>; alipay: Partial<SimIdentity['alipay']> }>;
  /** Use this merchant API public key (PEM) instead of generating a merchant key. */
  merchantPublicKeyPath?: string;
  /** Use this Alipay application public key (PEM) instead of generating an application key. */
  appPublicKeyPath?: string;
}

export interface SimKeys {
  identity: SimIdentity;
  wechatPlatformKey: KeyObject;
  wechatMerchantPublicKey: KeyObject;
  apiV3Key: string;
  /** The AppSecret of the WeChat AppID (公众号), for web OAuth (网页授权); the merchant holds it too. */
  wechatAppSecret: string;
  alipayKey: KeyObject;
  alipayAppPublicKey: KeyObject;
  /** Files for the merchant to configure (paths). */
  files: {
    wechatMerchantPrivateKey?: string;
    wechatPlatformPublicKey: string;
    wechatApiV3Key: string;
    wechatAppSecret: string;
    alipayAppPrivateKey?: string;
    alipayPublicKey: string;
  };
}

function pemPair(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string };
}

function digits(n: number): string {
  let s = '';
  for (const b of randomBytes(n)) s += String(b % 10);
  return s;
}

/** Read a key pair from `dir/name.pem` (private), writing a new one first if absent. */
function pair(dir: string, name: string): { privateKey: KeyObject; publicKey: KeyObject; privatePath: string; publicPath: string } {
  const privatePath = join(dir, `${name}.pem`);
  const publicPath = join(dir, `${name}.pub.pem`);
  if (!existsSync(privatePath)) {
    const p = pemPair();
    writeFileSync(privatePath, p.privatePem, { mode: 0o600 });
    writeFileSync(publicPath, p.publicPem);
  }
  const privateKey = createPrivateKey(readFileSync(privatePath, 'utf8'));
  if (!existsSync(publicPath)) writeFileSync(publicPath, createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }) as string);
  return { privateKey, publicKey: createPublicKey(privateKey), privatePath, publicPath };
}

export function loadOrCreateKeys(opts: SimKeyOptions): SimKeys {
  const sim = join(opts.stateDir, 'simulator');
  const merchant = join(opts.stateDir, 'merchant');
  mkdirSync(sim, { recursive: true });
  mkdirSync(merchant, { recursive: true });

  const identityPath = join(sim, 'identity.json');
  let identity: SimIdentity;
  if (existsSync(identityPath)) identity = JSON.parse(readFileSync(identityPath, 'utf8')) as SimIdentity;
  else {
    identity = {
      wechat: { mchid: `19${digits(8)}`, appid: `wx${randomBytes(8).toString('hex')}`, merchantSerial: randomBytes(20).toString('hex').toUpperCase(), platformKeyId: `PUB_KEY_ID_01${digits(30)}` },
      alipay: { appId: `2021${digits(12)}`, sellerId: `2088${digits(12)}` },
    };
  }
  identity = { wechat: { ...identity.wechat, ...opts.identity?.wechat }, alipay: { ...identity.alipay, ...opts.identity?.alipay } };
  writeFileSync(identityPath, JSON.stringify(identity, null, 2));

  const wechatPlatform = pair(sim, 'wechatpay-platform');
  const alipayPlatform = pair(sim, 'alipay-platform');
  // Public halves where the merchant reads them.
  const wechatPlatformPublic = join(merchant, 'wechatpay_public_key.pem');
  writeFileSync(wechatPlatformPublic, wechatPlatform.publicKey.export({ type: 'spki', format: 'pem' }) as string);
  const alipayPublic = join(merchant, 'alipay_public_key.pem');
  writeFileSync(alipayPublic, alipayPlatform.publicKey.export({ type: 'spki', format: 'pem' }) as string);

  const apiV3Path = join(merchant, 'apiv3.key');
  if (!existsSync(apiV3Path)) writeFileSync(apiV3Path, randomBytes(24).toString('base64').slice(0, 32), { mode: 0o600 });
  const apiV3Key = readFileSync(apiV3Path, 'utf8').trim();
  // The AppSecret is 32 hex characters, as the 公众平台 shows it.
  const appSecretPath = join(merchant, 'wechat_appsecret.txt');
  if (!existsSync(appSecretPath)) writeFileSync(appSecretPath, randomBytes(16).toString('hex'), { mode: 0o600 });
  const wechatAppSecret = readFileSync(appSecretPath, 'utf8').trim();

  let wechatMerchantPublicKey: KeyObject;
  let wechatMerchantPrivate: string | undefined;
  if (opts.merchantPublicKeyPath !== undefined) wechatMerchantPublicKey = createPublicKey(readFileSync(opts.merchantPublicKeyPath, 'utf8'));
  else {
    const m = pair(merchant, 'apiclient_key');
    wechatMerchantPublicKey = m.publicKey;
    wechatMerchantPrivate = m.privatePath;
  }
  let alipayAppPublicKey: KeyObject;
  let alipayAppPrivate: string | undefined;
  if (opts.appPublicKeyPath !== undefined) alipayAppPublicKey = createPublicKey(readFileSync(opts.appPublicKeyPath, 'utf8'));
  else {
    const a = pair(merchant, 'alipay_app_private_key');
    alipayAppPublicKey = a.publicKey;
    alipayAppPrivate = a.privatePath;
  }
  return {
    identity,
    wechatPlatformKey: wechatPlatform.privateKey,
    wechatMerchantPublicKey,
    apiV3Key,
    wechatAppSecret,
    alipayKey: alipayPlatform.privateKey,
    alipayAppPublicKey,
    files: {
      ...(wechatMerchantPrivate === undefined ? {} : { wechatMerchantPrivateKey: wechatMerchantPrivate }),
      wechatPlatformPublicKey: wechatPlatformPublic,
      wechatApiV3Key: apiV3Path,
      wechatAppSecret: appSecretPath,
      ...(alipayAppPrivate === undefined ? {} : { alipayAppPrivateKey: alipayAppPrivate }),
      alipayPublicKey: alipayPublic,
    },
  };
}
