/**
 * The providers against the payment simulator: a running stile-paysim (in process), the
 * merchant's notify endpoint (a plain node:http server that hands each notification to the
 * provider's parseNotification and answers with its ack), and the two providers configured
 * from the files the simulator wrote — exactly what a merchant would do.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PaymentSimulator, type SimulatorOptions } from '@stile/payment-sim';
import { WeChatPayProvider, type WechatPayOptions } from '../../src/modules/payments/wechat-provider.js';
import { AlipayProvider, type AlipayOptions } from '../../src/modules/payments/alipay-provider.js';
import type { PaymentEvent, PaymentProvider } from '../../src/modules/payments/provider.js';
import type { Clock } from '../../src/core/clock.js';

export interface Received {
  provider: 'wechat' | 'alipay';
  headers: IncomingHttpHeaders;
  body: string;
  event?: PaymentEvent;
  error?: { code: string; message: string };
}

export interface Harness {
  sim: PaymentSimulator;
  wechat: WeChatPayProvider;
  alipay: AlipayProvider;
  received: Received[];
  /** Answer the next N notifications as a failure (the provider retries). */
  failNext: (n: number) => void;
  notifyUrl: (p: 'wechat' | 'alipay') => string;
  wechatOptions: (over?: Partial<WechatPayOptions>) => WechatPayOptions;
  alipayOptions: (over?: Partial<AlipayOptions>) => AlipayOptions;
  control: (method: string, path: string, body?: unknown) => Promise<{ status: number; body: unknown }>;
  waitFor: (pred: (r: Received[]) => boolean, ms?: number) => Promise<void>;
  close: () => Promise<void>;
}

export async function startHarness(opts: { sim?: Partial<SimulatorOptions>; clock?: Clock; timeoutMs?: number } = {}): Promise<Harness> {
  const stateDir = mkdtempSync(join(tmpdir(), 'stile-paysim-'));
  const sim = new PaymentSimulator({ stateDir, retryDelaysMs: { wechat: [50, 100, 200], alipay: [50, 100, 200] }, notifyAttemptTimeoutMs: 2000, ...opts.sim });
  await sim.listen();
  const received: Received[] = [];
  let failing = 0;
  const providers: Partial<Record<'wechat' | 'alipay', PaymentProvider>> = {};

  const receiver: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const provider = req.url === '/notify/wechat' ? 'wechat' : 'alipay';
      const body = Buffer.concat(chunks).toString('utf8');
      const r: Received = { provider, headers: req.headers, body };
      received.push(r);
      const p = providers[provider]!;
      let ok = failing === 0;
      if (failing > 0) failing--;
      try {
        r.event = p.parseNotification(req.headers, body);
      } catch (err) {
        r.error = { code: (err as { code?: string }).code ?? 'error', message: (err as Error).message };
        ok = false;
      }
      const ack = p.notificationAck(ok);
      res.writeHead(ack.status, { 'Content-Type': ack.contentType });
      res.end(ack.body);
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', () => resolve()));
  const port = (receiver.address() as { port: number }).port;
  const notifyUrl = (p: 'wechat' | 'alipay') => `http://127.0.0.1:${port}/notify/${p}`;

  const cfg = sim.merchantConfig() as { wechat: Record<string, unknown>; alipay: Record<string, unknown> };
  const w = cfg.wechat as unknown as Omit<WechatPayOptions, 'notifyUrl'>;
  const a = cfg.alipay as unknown as Omit<AlipayOptions, 'notifyUrl'>;
  const wechatOptions = (over: Partial<WechatPayOptions> = {}): WechatPayOptions => ({
    mchid: w.mchid,
    appid: w.appid,
    merchantSerial: w.merchantSerial,
    merchantPrivateKeyPath: w.merchantPrivateKeyPath,
    apiV3KeyPath: w.apiV3KeyPath,
    platformKeys: w.platformKeys,
    baseUrl: (cfg.wechat as { baseUrl: string }).baseUrl,
    notifyUrl: notifyUrl('wechat'),
    timeoutMs: opts.timeoutMs ?? 3000,
    ...(opts.clock === undefined ? {} : { clock: opts.clock }),
    ...over,
  });
  const alipayOptions = (over: Partial<AlipayOptions> = {}): AlipayOptions => ({
    appId: a.appId,
    appPrivateKeyPath: a.appPrivateKeyPath,
    alipayPublicKeyPath: a.alipayPublicKeyPath,
    gatewayUrl: a.gatewayUrl,
    billHosts: a.billHosts,
    notifyUrl: notifyUrl('alipay'),
    timeoutMs: opts.timeoutMs ?? 3000,
    ...(opts.clock === undefined ? {} : { clock: opts.clock }),
    ...over,
  });
  const wechat = new WeChatPayProvider(wechatOptions());
  const alipay = new AlipayProvider(alipayOptions());
  providers.wechat = wechat;
  providers.alipay = alipay;

  const control = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(sim.baseUrl + path, { method, headers: body === undefined ? {} : { 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* text */
    }
    return { status: res.status, body: parsed };
  };
  const waitFor = async (pred: (r: Received[]) => boolean, ms = 5000) => {
    const end = Date.now() + ms;
    while (!pred(received)) {
      if (Date.now() > end) throw new Error(`timed out waiting; received: ${JSON.stringify(received.map((r) => r.event ?? r.error))}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return {
    sim,
    wechat,
    alipay,
    received,
    failNext: (n) => {
      failing = n;
    },
    notifyUrl,
    wechatOptions,
    alipayOptions,
    control,
    waitFor,
    close: async () => {
      await sim.close();
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
      receiver.closeAllConnections();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** Today in Beijing (the bills' date). */
export function beijingToday(now = new Date()): string {
  return new Date(now.getTime() + 8 * 3_600_000).toISOString().slice(0, 10);
}

let seq = 0;
/** A fresh out_trade_no (6–32 of [0-9A-Za-z_-]). */
export function tradeNo(prefix = 'T'): string {
  seq++;
  return `${prefix}${Date.now().toString(36)}${seq.toString().padStart(4, '0')}`.slice(0, 32);
}
