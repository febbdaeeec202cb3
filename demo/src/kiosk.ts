import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { ConfigIssues } from '@stile/config';
import { SimCashDevices, SimIdReader, SimPrinter, SimQrScanner } from '@stile/hardware-sim';
import { KioskConfigSchema, KioskSyncConfigSchema, provisionKioskKey, resolveKioskConfig, sale, startKiosk, type KioskDaemon, type KioskConfigFile } from '@stile/kiosk-agent';

/**
 * The demo's ticket kiosk (issue #17 point 8): stile-kiosk in process on hardware-sim's devices
 * on ptys — the ccTalk bill validator and coin hopper, the ESC/POS printer, a payment-code
 * scanner and a GA/T 467 ID-card reader — selling through the demo cloud's channel API (payment
 * codes on the provider `kiosk` channel, cash on the partner `kiosk-cash` one) with its outbox
 * to the broker and its own ST2 key, which the demo gates trust. A demo visitor buys the way a
 * person at the machine would: touches, taps ID cards, feeds ¥100 notes or shows a payment code,
 * then takes the printed ticket; the code is what the printer was told to print as a QR.
 */

export const DEMO_KIOSK_ID = 'kiosk-1';

/** Made before the cloud starts: the kiosk's ST2 key goes into the cloud's kiosks and the gates' keys.offline. */
export function provisionDemoKiosk(dir: string): { id: string; dir: string; offlineKey: { id: string; publicKey: string } } {
  const kdir = join(dir, DEMO_KIOSK_ID);
  mkdirSync(kdir, { recursive: true });
  const k = provisionKioskKey(join(kdir, 'offline.pem'), `${DEMO_KIOSK_ID}-st2`);
  return { id: DEMO_KIOSK_ID, dir: kdir, offlineKey: { id: k.keyId, publicKey: k.publicKey } };
}

/** What the demo cloud gives the kiosk: its channel keys, its broker login, the site's control key. */
export interface DemoKioskCloud {
  baseUrl: string;
  apiKey: string;
  cashApiKey: string;
  mqttUrl: string;
  login: { username: string; token: string };
  control: { id: string; publicKey: string };
}

export type KioskSale = { ok: true; method: 'cash' | 'code'; codes: string[]; ms: number } | { ok: false; error: string; message: string };

export interface DemoKiosk {
  daemon: KioskDaemon;
  describe: string;
  /** A party buys `typeId` (persons per ticket × count = visitors) with cash or a payment code. */
  buy(typeId: string, visitors: { name: string; idNumber: string }[], method: 'cash' | 'code', n: number, slotId?: string): Promise<KioskSale>;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startDemoKiosk(o: { site: { id: string; timeZone: string; idHashKey: string }; kiosk: ReturnType<typeof provisionDemoKiosk>; cloud: DemoKioskCloud }): Promise<DemoKiosk> {
  const dir = o.kiosk.dir;
  const dev = join(dir, 'dev');
  mkdirSync(dev, { recursive: true });
  const cash = await SimCashDevices.open({ dir: dev, hopper: { coins: 500, coinMs: 10 } });
  const printer = await SimPrinter.open({ dir: dev, name: 'printer' });
  const scanner = await SimQrScanner.open({ dir: dev, name: 'paycode' });
  const reader = await SimIdReader.open({ dir: dev, name: 'idcard' });
  const devices = [scanner, reader, printer, cash];
  try {
    return await runKiosk(o, { cash, printer, scanner, reader });
  } catch (err) {
    // Nothing left running (the ptys' relays would keep the demo from exiting).
    for (const d of devices) await d.close().catch(() => undefined);
    throw err;
  }
}

interface KioskDevices {
  cash: SimCashDevices;
  printer: SimPrinter;
  scanner: SimQrScanner;
  reader: SimIdReader;
}

async function runKiosk(o: Parameters<typeof startDemoKiosk>[0], { cash, printer, scanner, reader }: KioskDevices): Promise<DemoKiosk> {
  const dir = o.kiosk.dir;
  const secret = (name: string, text: string) => writeFileSync(join(dir, name), `${text}\n`, { mode: 0o600 });
  secret('kiosk.key', o.cloud.apiKey);
  secret('kiosk-cash.key', o.cloud.cashApiKey);
  secret('mqtt.pw', o.cloud.login.token);
  secret('idhash.key', o.site.idHashKey);
  const file = (screen: boolean): KioskConfigFile =>
    KioskConfigSchema.parse({
      version: 1,
      site: { id: o.site.id, name: { 'zh-CN': '青山湖风景区', en: 'Qingshan Lake' }, timezone: o.site.timeZone },
      kiosk: { id: o.kiosk.id },
      cloud: { url: o.cloud.baseUrl, apiKeyFile: 'kiosk.key', payment: 'provider', cashApiKeyFile: 'kiosk-cash.key', contactPhone: '13800138000', timeoutMs: 3000 },
      devices: {
        cash: { path: cash.devicePath, billValidator: { pollMs: 100 }, hopper: { pollMs: 50 } },
        hopperCoins: 500,
        printer: { path: printer.devicePath, pollMs: 500, jobTimeoutMs: 3000 },
        paymentScanner: { type: 'qr-serial', path: scanner.devicePath },
        idReader: { type: 'idcard-ga467', path: reader.devicePath, pollMs: 200 },
      },
      journal: { path: 'journal.db' },
      // The ticket taken, the next visitor in a second (the default 10 s is for real people).
      sale: { methods: ['cash', 'code', 'qr'], doneMs: 1000 },
      sync: KioskSyncConfigSchema.parse({
        url: o.cloud.mqttUrl,
        protocolVersion: 4, // the demo's embedded Aedes
        username: o.cloud.login.username,
        passwordFile: 'mqtt.pw',
        reconnectMinMs: 200,
        reconnectMaxMs: 2000,
        outbox: 'outbox.db',
        offlineKey: { id: o.kiosk.offlineKey.id, file: 'offline.pem' },
        control: [o.cloud.control],
        idHashKeyFile: 'idhash.key',
      }),
      ...(screen ? { screen: { host: '127.0.0.1', port: 0 } } : {}),
      tickMs: 50,
      log: { level: 'warn' },
    });
  const configPath = join(dir, 'kiosk.yaml');
  writeFileSync(configPath, `# Generated demo kiosk config (docs/kiosk.md); JSON is YAML\n${JSON.stringify(file(true), null, 2)}\n`, { mode: 0o600 });
  const logger = pino({ level: 'warn', base: { kiosk: o.kiosk.id } });
  let daemon: KioskDaemon;
  let screenNote = '';
  try {
    daemon = await startKiosk(resolveKioskConfig(file(true), new ConfigIssues(configPath)), { logger });
  } catch (err) {
    // The touchscreen page not built (or its port taken): the kiosk runs without it.
    screenNote = ` (no touchscreen page: ${(err as Error).message.split('\n')[0]})`;
    daemon = await startKiosk(resolveKioskConfig(file(false), new ConfigIssues(configPath)), { logger });
  }
  const rt = daemon.runtime;
  const screenUrl = daemon.screen ? `http://127.0.0.1:${daemon.screen.port}/` : undefined;
  const describe = `kiosk: ${o.kiosk.id} on simulated devices (ccTalk validator/hopper ${cash.devicePath}, ESC/POS printer ${printer.devicePath}, payment-code scanner, ID reader), cash and payment codes, offline ST2 key ${o.kiosk.offlineKey.id} trusted by the gates${screenUrl ? `; touchscreen ${screenUrl}` : screenNote}`;

  const until = async (ok: () => boolean, ms: number): Promise<boolean> => {
    const end = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > end) return false;
      await sleep(10);
    }
    return true;
  };
  const phase = () => rt.state().phase;
  const fail = async (error: string, message: string): Promise<KioskSale> => {
    if (phase() !== 'idle' && phase() !== 'done') rt.dispatch({ kind: 'cancel' });
    await until(() => phase() === 'idle' || phase() === 'done', 3000);
    return { ok: false, error, message };
  };
  const notice = () => rt.state().notice?.key ?? 'no_answer';
  /** What the screen says, in English (the machine's own words for a refusal). */
  const said = () => {
    const n = rt.state().notice;
    return n && sale.isTextKey(n.key) ? sale.saleText('en', n.key, n.vars) : 'no answer';
  };

  return {
    daemon,
    describe,
    async buy(typeId, visitors, method, n, slotId) {
      const t0 = Date.now();
      // The last visitor's ticket taken: the machine is back at its start screen within doneMs.
      if (!(await until(() => phase() === 'idle' && rt.catalogue().types.some((t) => t.id === typeId), 5000))) return fail('kiosk_not_ready', `the kiosk is ${phase()}`);
      rt.startSale();
      if (!(await until(() => rt.state().sale?.availability !== undefined, 3000))) return fail('availability_failed', 'no availability');
      const type = rt.catalogue().types.find((t) => t.id === typeId)!;
      rt.dispatch({ kind: 'choose_type', typeId });
      if (slotId) rt.dispatch({ kind: 'choose_slot', slotId });
      rt.dispatch({ kind: 'set_count', count: Math.max(1, Math.round(visitors.length / type.persons)) });
      rt.dispatch({ kind: 'confirm' });
      if (phase() !== 'identifying') return fail(notice(), said());
      for (const v of visitors) {
        const had = rt.state().sale?.visitors.length ?? 0;
        reader.placeCard({ idNumber: v.idNumber, name: v.name });
        const read = await until(() => (rt.state().sale?.visitors.length ?? 0) > had || phase() !== 'identifying', 3000);
        reader.removeCard();
        if (!read) return fail('id_not_read', 'the ID card was not read');
        await sleep(250); // lifted off before the next card: the reader sees it gone
      }
      if (!(await until(() => phase() === 'review' || phase() === 'idle', 5000)) || phase() !== 'review') return fail(notice(), said());
      rt.dispatch({ kind: 'choose_method', method });
      const printed = printer.pages.length;
      if (method === 'cash') {
        if (!(await until(() => phase() !== 'placing' && phase() !== 'review', 5000)) || phase() !== 'cash') return fail(notice(), said());
        // ¥100 notes until the price is in.
        while (phase() === 'cash') {
          if (cash.validator!.insertNote(10000) !== 'held') await sleep(50);
          await until(() => phase() !== 'cash' || rt.state().sale?.money.acceptingFen === 0, 1500);
          await sleep(120);
        }
      } else {
        if (!(await until(() => phase() === 'code_wait' || phase() === 'review' || phase() === 'idle', 5000)) || phase() !== 'code_wait') return fail(notice(), said());
        const authCode = `${n % 2 === 0 ? '13' : '28'}${String(Date.now()).slice(-8)}${String(n).padStart(8, '0')}`;
        await scanner.scan(authCode);
      }
      if (!(await until(() => phase() === 'done' || phase() === 'idle' || phase() === 'print_failed', 15_000)) || phase() !== 'done') return fail(notice(), `${said()} (the sale ended at ${phase()})`);
      const codes = printer.pages.slice(printed).flatMap((p) => (p.qrCodes.length > 0 && p.text.includes('票种 Type') ? [p.qrCodes[0]!.data] : []));
      return { ok: true, method, codes, ms: Date.now() - t0 };
    },
    async close() {
      await daemon.stop();
      for (const d of [scanner, reader, printer, cash]) await d.close().catch(() => undefined);
    },
  };
}

/** A random API key for the demo's partner-mode cash channel (never printed, not a published demo key). */
export const newCashChannelKey = (): string => randomBytes(24).toString('hex');
