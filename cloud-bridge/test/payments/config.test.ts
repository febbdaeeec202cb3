/**
 * Provider settings in cloud.yaml (`sites[].payments`, `payments:`): key files relative to
 * the file, every unreadable one named, a bridge started from the loaded config, and no key
 * material in its log.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKeyPair, isStileError, StileErrorCode } from '@stile/config';
import { PaymentSimulator } from '@stile/payment-sim';
import { startCloudBridge } from '../../src/bridge.js';
import { loadCloudConfig } from '../../src/config.js';
import { MQTT_URL, uniqueId } from '../helpers.js';

describe('payments in cloud.yaml', () => {
  const pair = generateSigningKeyPair('ck1');
  let sim: PaymentSimulator;
  let simDir: string;
  let dir: string;
  let wechat: { mchid: string; appid: string; merchantSerial: string; baseUrl: string; merchantPrivateKeyPath: string; apiV3KeyPath: string; platformKeys: { path: string; serial: string }[] };
  let alipay: { appId: string; gatewayUrl: string; appPrivateKeyPath: string; alipayPublicKeyPath: string };

  beforeAll(async () => {
    simDir = mkdtempSync(join(tmpdir(), 'stile-paysim-cfg-'));
    sim = new PaymentSimulator({ stateDir: simDir });
    await sim.listen();
    ({ wechat, alipay } = sim.merchantConfig() as { wechat: typeof wechat; alipay: typeof alipay });
    dir = mkdtempSync(join(tmpdir(), 'stile-cloud-paycfg-'));
    writeFileSync(join(dir, 'control.pem'), pair.privateKeyPem);
    copyFileSync(wechat.merchantPrivateKeyPath, join(dir, 'apiclient_key.pem'));
    copyFileSync(wechat.apiV3KeyPath, join(dir, 'apiv3.key'));
    copyFileSync(wechat.platformKeys[0]!.path, join(dir, 'wechatpay_public_key.pem'));
    copyFileSync(alipay.appPrivateKeyPath, join(dir, 'alipay_app_key.pem'));
    copyFileSync(alipay.alipayPublicKeyPath, join(dir, 'alipay_public_key.pem'));
    copyFileSync((sim.merchantConfig() as { wechat: { oauth: { appSecretPath: string } } }).wechat.oauth.appSecretPath, join(dir, 'wechat_appsecret.txt'));
  });
  afterAll(async () => {
    await sim?.close();
    rmSync(simDir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  const yaml = (extra: string[] = [], keyFile = 'apiclient_key.pem', wechatExtra: string[] = []) =>
    [
      'mqtt: { url: "mqtt://127.0.0.1:1883" }',
      'database: { sqlitePath: ":memory:" }',
      'http: { port: 0 }',
      'payments: { notifyBaseUrl: "https://cloud.example.com", sweepEveryMs: 2000 }',
      'sites:',
      '  - id: park1',
      '    controlKey: { id: ck1, privateKeyFile: control.pem }',
      '    payments:',
      '      wechat:',
      `        mchid: "${wechat.mchid}"`,
      `        appid: "${wechat.appid}"`,
      `        merchantSerial: "${wechat.merchantSerial}"`,
      `        merchantPrivateKeyFile: ${keyFile}`,
      '        apiV3KeyFile: apiv3.key',
      `        platformKeys: [{ file: wechatpay_public_key.pem, serial: "${wechat.platformKeys[0]!.serial}" }]`,
      `        baseUrl: "${wechat.baseUrl}"`,
      ...wechatExtra,
      '      alipay:',
      `        appId: "${alipay.appId}"`,
      '        appPrivateKeyFile: alipay_app_key.pem',
      '        alipayPublicKeyFile: alipay_public_key.pem',
      `        gatewayUrl: "${alipay.gatewayUrl}"`,
      ...extra,
      '',
    ].join('\n');

  it('reads the provider settings, key files relative to the file', () => {
    const file = join(dir, 'cloud.yaml');
    writeFileSync(file, yaml());
    const { options } = loadCloudConfig(file, {});
    expect(options.payments).toMatchObject({
      notifyBaseUrl: 'https://cloud.example.com',
      sweepEveryMs: 2000,
      sites: { park1: { wechat: { mchid: wechat.mchid, merchantPrivateKeyPath: join(dir, 'apiclient_key.pem'), platformKeys: [{ path: join(dir, 'wechatpay_public_key.pem') }] }, alipay: { appId: alipay.appId, alipayPublicKeyPath: join(dir, 'alipay_public_key.pem') } } },
    });
  });

  it('names every missing key file and bad field', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, yaml(['      paypal: {}'], 'missing_key.pem'));
    let err: unknown;
    try {
      loadCloudConfig(file, {});
    } catch (e) {
      err = e;
    }
    expect(isStileError(err, StileErrorCode.ConfigInvalid)).toBe(true);
    expect((err as Error).message).toContain('sites[0].payments');
    writeFileSync(file, yaml([], 'missing_key.pem'));
    expect(() => loadCloudConfig(file, {})).toThrow(/sites\[0\]\.payments\.wechat\.merchantPrivateKeyFile: cannot read/);
  });

  it('WeChat web OAuth (the booking page\'s openid): the AppSecret file relative to the file, named when missing, never logged', async () => {
    const file = join(dir, 'oauth.yaml');
    const oauth = (secretFile: string) => ['        oauth:', `          appSecretFile: ${secretFile}`, `          authorizeUrl: "${sim.baseUrl}/connect/oauth2/authorize"`, `          apiBaseUrl: "${sim.baseUrl}"`];
    writeFileSync(file, yaml([], 'apiclient_key.pem', oauth('nope.txt')));
    expect(() => loadCloudConfig(file, {})).toThrow(/sites\[0\]\.payments\.wechat\.oauth\.appSecretFile: cannot read/);
    writeFileSync(file, yaml([], 'apiclient_key.pem', oauth('wechat_appsecret.txt')));
    const { options } = loadCloudConfig(file, {});
    expect(options.payments?.sites.park1?.wechat?.oauth).toEqual({ appSecretPath: join(dir, 'wechat_appsecret.txt'), authorizeUrl: `${sim.baseUrl}/connect/oauth2/authorize`, apiBaseUrl: sim.baseUrl });
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }));
    const bridge = await startCloudBridge({ ...options, mqttUrl: MQTT_URL, sharedGroup: uniqueId('grp'), clientId: uniqueId('cloud'), logger });
    try {
      const log = lines.join('');
      expect(log).toContain('WeChat web OAuth ready');
      expect(log).not.toContain(readFileSync(join(dir, 'wechat_appsecret.txt'), 'utf8').trim());
    } finally {
      await bridge.close();
    }
  });

  it('starts a bridge from it: its providers log their ids, never a key', async () => {
    const file = join(dir, 'cloud.yaml');
    writeFileSync(file, yaml());
    const { options } = loadCloudConfig(file, {});
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }));
    const bridge = await startCloudBridge({ ...options, mqttUrl: MQTT_URL, sharedGroup: uniqueId('grp'), clientId: uniqueId('cloud'), logger });
    try {
      const log = lines.join('');
      expect(log).toContain(wechat.mchid);
      expect(log).toContain(alipay.appId);
      for (const secret of ['BEGIN', 'PRIVATE KEY', readFileSync(join(dir, 'apiv3.key'), 'utf8').trim()]) expect(log).not.toContain(secret);
    } finally {
      await bridge.close();
    }
  });
});
