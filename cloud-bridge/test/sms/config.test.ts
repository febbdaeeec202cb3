/** cloud.yaml `sms:`: keys from files or the environment, per-site templates, every mistake named. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateSigningKeyPair } from '@stile/config';
import { loadCloudConfig } from '../../src/config.js';

const pair = generateSigningKeyPair('ck1');
const SECRET = 'aliyun-access-key-secret-0123456789';
const HASH_KEY = 'phone-hash-key-0123456789abcdef0123';
const TOKEN = 'receipt-token-0123456789abcdef0123456789';

function write(sms: string[], files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'stile-sms-cfg-'));
  for (const [name, body] of Object.entries({ 'control.pem': pair.privateKeyPem, ...files })) writeFileSync(join(dir, name), body);
  const file = join(dir, 'cloud.yaml');
  writeFileSync(file, ['mqtt: { url: "mqtt://h" }', 'sites:', '  - id: park1', '    controlKey: { id: ck1, privateKeyFile: control.pem }', 'sms:', ...sms.map((l) => `  ${l}`), ''].join('\n'));
  return file;
}

function problems(file: string, env: NodeJS.ProcessEnv = {}): string {
  try {
    loadCloudConfig(file, env);
  } catch (err) {
    return (err as Error).message;
  }
  return '';
}

const aliyunSite = [
  'sites:',
  '  park1:',
  '    signName: 某某景区',
  '    templates:',
  '      checkin:',
  '        zh-CN: { id: SMS_1, params: { code: code, date: date } }',
  '        en: { id: SMS_2, params: { code: code } }',
];

describe('cloud.yaml sms:', () => {
  it('is the log provider when absent or `provider: log`', () => {
    expect(loadCloudConfig(write(['provider: log']), {}).options.smsSettings).toBeUndefined();
  });

  it('reads Alibaba Cloud keys from files, the token from the environment, and keeps the defaults', () => {
    const file = write(['provider: aliyun', 'aliyun: { accessKeyId: LTAI5tEXAMPLE, accessKeySecretFile: ak.secret }', 'phoneHashKeyFile: phone.key', 'receipts: { tokenEnv: SMS_TOKEN, publicUrl: "https://cloud.example.com", allowFrom: ["100.64.0.0/10", "2001:db8::/32"] }', ...aliyunSite], {
      'ak.secret': `${SECRET}\n`,
      'phone.key': HASH_KEY,
    });
    const s = loadCloudConfig(file, { SMS_TOKEN: TOKEN }).options.smsSettings!;
    expect(s).toMatchObject({
      provider: 'aliyun',
      aliyun: { accessKeyId: 'LTAI5tEXAMPLE', accessKeySecret: SECRET },
      phoneHashKey: HASH_KEY,
      receiptToken: TOKEN,
      publicUrl: 'https://cloud.example.com',
      limits: { perMinute: 1, perHour: 5, perDay: 10, qps: 10, concurrency: 16, queue: 1000, retries: 2 },
      timeoutMs: 5000,
      sites: { park1: { signName: '某某景区', defaultLang: 'zh-CN', templates: { checkin: { 'zh-CN': { id: 'SMS_1', params: { code: 'code', date: 'date' } } } } } },
    });
  });

  it('takes Tencent Cloud with positional template variables', () => {
    const file = write(
      ['provider: tencent', 'tencent: { secretId: AKIDEXAMPLE, secretKeyEnv: TC_KEY, smsSdkAppId: "1400006666" }', 'phoneHashKeyEnv: PHONE_KEY', 'limits: { perMinute: 2, qps: 50 }', 'sites:', '  park1:', '    signName: 某某景区', '    defaultLang: en', '    templates:', '      checkin: { zh-CN: { id: "1001", params: [code, date, slot] } }'],
    );
    const s = loadCloudConfig(file, { TC_KEY: 'tencent-secret-key-0123', PHONE_KEY: HASH_KEY }).options.smsSettings!;
    expect(s).toMatchObject({ provider: 'tencent', tencent: { secretId: 'AKIDEXAMPLE', secretKey: 'tencent-secret-key-0123', smsSdkAppId: '1400006666', region: 'ap-guangzhou' }, limits: { perMinute: 2, perHour: 5, qps: 50 } });
    expect(s.receiptToken).toBeUndefined();
    expect(s.sites.park1!.templates.checkin!['zh-CN'].params).toEqual(['code', 'date', 'slot']);
  });

  it('names every mistake: unreadable or short secrets, unset variables, wrong template shapes and variables, unknown sites, bad networks', () => {
    const file = write(
      [
        'provider: aliyun',
        'aliyun: { accessKeyId: LTAI5tEXAMPLE, accessKeySecretFile: missing.secret }',
        'phoneHashKeyFile: short.key',
        'receipts: { tokenEnv: NOT_SET, allowFrom: ["10.0.0.0/33"] }',
        'sites:',
        '  park1:',
        '    signName: 某某景区',
        '    templates:',
        '      checkin: { zh-CN: { id: SMS_1, params: [code] }, en: { id: SMS_2, params: { code: ticket } } }',
        '  park9:',
        '    signName: 某某景区',
        '    templates: { checkin: { zh-CN: { id: SMS_3 } } }',
      ],
      { 'short.key': 'too-short' },
    );
    const msg = problems(file);
    expect(msg).toContain('sms.aliyun.accessKeySecretFile: cannot read');
    expect(msg).toContain('sms.phoneHashKeyFile: the phone-hash key: at least 32 characters, it has 9');
    expect(msg).toContain('sms.receipts.tokenEnv: environment variable NOT_SET is not set');
    expect(msg).toContain('sms.receipts.allowFrom[0]: not an address or CIDR: 10.0.0.0/33');
    expect(msg).toContain('sms.sites.park1.templates.checkin.zh-CN.params: Alibaba Cloud templates take named variables');
    expect(msg).toContain('sms.sites.park1.templates.checkin.en.params: ticket: a check-in template may use code, codes, count, date, slot, site, order, url');
    expect(msg).toContain('sms.sites.park9: no site park9 in sites');
    expect(problems(write(['provider: tencent', 'phoneHashKeyEnv: X']), { X: HASH_KEY })).toContain('sms.tencent: required when provider is tencent');
    expect(problems(write(['provider: aliyun', 'aliyun: { accessKeyId: a, accessKeySecretFile: s, accessKeySecretEnv: S }', 'phoneHashKeyEnv: X'], { s: SECRET }), { X: HASH_KEY, S: SECRET })).toContain(
      'sms.aliyun.accessKeySecret: give exactly one of accessKeySecretFile, accessKeySecretEnv',
    );
    expect(problems(write(['provider: aliyun', 'aliyun: { accessKeyId: a, accessKeySecretEnv: S }', 'phoneHashKeyEnv: X', 'receipts: { tokenEnv: T }'], {}), { X: HASH_KEY, S: SECRET, T: `${'a'.repeat(32)}/..` })).toContain(
      'sms.receipts.token: the receipt token goes into a URL path',
    );
    expect(problems(write(['provider: smoke-signals']))).toContain('sms.provider');
  });
});
