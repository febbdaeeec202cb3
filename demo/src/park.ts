import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { parse, stringify } from 'yaml';
import { hashIdNumber, issueOfflineTicket, loadGateConfig, loadSigningKey, maskIdNumber, type SigningKey } from '@stile/config';
import { GateStore, importSnapshot, openDatabase, startGateDaemon, type Credential, type GateDaemon } from '@stile/gate-agent';
import { provisionDemoKiosk, startDemoKiosk, type DemoKiosk, type DemoKioskCloud } from './kiosk.js';
import { createDemoSite, DEMO_TICKET_TYPES, newTicketId, type DemoSite } from './site.js';

/**
 * The demo park: two gates (east-1, west-1) with a generated whitelist, and simulated
 * visitors. With a cloud (`npm start` through start.ts: embedded broker + cloud-bridge, cloud.ts)
 * visitors buy online (WeChat, Meituan) or at the kiosk through the channel API, then scan
 * the code or tap their ID card at a gate, until the park is full; with simulated hardware
 * (hardware-sim on socat ptys, hardware.ts) a scan goes scanner → gate → relay.
 * Prints one line per visitor. DEMO_VISITORS=N stops after N visitors; otherwise the flow
 * stops once the park is red and sales are refused, and the demo idles until Ctrl-C.
 * `node demo/dist/park.js` runs the two gates alone, offline.
 */

/** How visitors buy from the cloud: the channel API. */
export interface DemoSales {
  baseUrl: string;
  timeZone: string;
  keys: { wechat: string; meituan: string; kiosk: string };
  /** The visit date and (if the park sells slots) the slot a visitor arriving now buys. */
  today(): { date: string; slotId?: string };
  /**
   * Channels whose money goes through WeChat Pay / Alipay (the payment simulator): the visitor
   * pays there and the order is paid when the provider says so. Undefined for a channel that
   * collects the money itself and confirms with …/pay.
   */
  payByProvider?(channel: keyof DemoSales['keys'], orderId: string, n: number): Promise<{ ok: true; tickets: { ticketId: string; persons: number }[]; seq: bigint } | { ok: false; error: string; message: string }> | undefined;
}

/** A cloud for the demo gates to sync to (start.ts wires in cloud.ts, on cloud-bridge). */
export interface DemoCloud {
  /** Start it for the demo site; the answer goes into each gate's gate.yaml. */
  start(
    dir: string,
    site: { id: string; gates: string[]; idHashKey: string; offlineKeys?: { id: string; publicKey: string }[]; kiosk?: { id: string; offlineKey: { id: string; publicKey: string } } },
  ): Promise<{
    mqtt: Record<string, unknown>;
    /** Each gate's own broker and HTTP login, from the cloud's device registry. */
    gateCredentials?: Record<string, { username: string; token: string }>;
    control: { id: string; publicKey: string };
    describe: string;
    /** Ticket types of what the cloud sells (added to the gates' ticketTypes). */
    ticketTypes?: { id: string }[];
    dashboardUrl?: string;
    sales?: DemoSales;
    /** What the demo kiosk needs of the cloud, when the site has one. */
    kiosk?: DemoKioskCloud;
  }>;
  /** Today's capacity level as the cloud announces it. */
  level?(): string | undefined;
  /** Lines for the end of the run, once the cloud has (up to a bound) `expectedEntries`. */
  summary(expectedEntries: number): Promise<string>;
  close(): Promise<void>;
}

/** One gate's simulated devices (hardware.ts makes them with hardware-sim). */
export interface DemoGateDevices {
  /** gate.yaml `inputs` and `relay` pointing at the devices. */
  inputs: Record<string, unknown>[];
  relay: Record<string, unknown>;
  /** The QR scanner reads a code. */
  scan(text: string): Promise<void>;
  /** An ID card goes on the reader / is lifted off (absent: the gate has no reader). */
  placeCard?(idNumber: string, name: string): void;
  removeCard?(): void;
  /** Turnstile pulses the relay board has seen. */
  pulses(): number;
  close(): Promise<void>;
}

export interface DemoHardware {
  describe: string;
  gate(dir: string, gate: string): Promise<DemoGateDevices>;
}

export interface DemoParkOptions {
  cloud?: DemoCloud;
  hardware?: DemoHardware;
  /** Printed where the hardware line goes when there is no hardware (e.g. why not). */
  hardwareNote?: string;
  /** Default DEMO_DIR or ./.demo */
  dir?: string;
}

const VISITORS = Number(process.env.DEMO_VISITORS ?? 0);
const PACE_MS = Number(process.env.DEMO_PACE_MS ?? 400);
const GATES = ['east-1', 'west-1'] as const;
/** Sales refused at red before the flow stops (without DEMO_VISITORS). */
const RED_REFUSALS = 3;

const NAMES = ['张伟', '王芳', '李娜', '刘洋', '陈静', '杨磊', '赵敏', '黄勇', '周杰', '吴霞', '徐丽', '孙浩', '胡军', '朱琳', '高峰', '林悦'];
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;

/** A checksum-valid resident ID number per visitor (Shanghai Xuhui; never one of the whitelist's Beijing numbers). */
function visitorIdNumber(n: number): string {
  const born = new Date(Date.UTC(1960, 0, 1) + Math.floor(n / 1000) * 86_400_000);
  const body = `310104${born.toISOString().slice(0, 10).replaceAll('-', '')}${String(n % 1000).padStart(3, '0')}`;
  const sum = WEIGHTS.reduce((s, w, i) => s + w * Number(body[i]), 0);
  return body + '10X98765432'[sum % 11];
}

/** What a gate decided, from its daemon.scan() answer or its admit/reject log line. */
interface Decision {
  decision: 'admit' | 'reject';
  reason?: string | null;
  detail?: string;
  ticketId?: string | null;
  typeId?: string | null;
  persons?: number;
  decisionMs?: number;
  idcard?: string;
}

interface DemoGate {
  id: string;
  daemon: GateDaemon;
  devices: DemoGateDevices | undefined;
  idHashKey: string;
  /** Resolves with the gate's next decision (hardware: from its log). */
  nextDecision(timeoutMs: number): Promise<Decision | null>;
}

/**
 * Ctrl-C reaches the whole foreground process group, socat included: the simulated devices
 * vanish while the gates shut down. Their complaints about it are not news.
 */
const shutdown = { muted: false };

/** A pino destination that hands the gate's admit/reject lines to the demo and prints only warnings and errors. */
function gateLogger(gate: string) {
  const waiters: ((d: Decision) => void)[] = [];
  const stream = {
    write(chunk: string) {
      for (const line of chunk.split('\n')) {
        if (!line) continue;
        let rec: Decision & { level?: number; event?: string };
        try {
          rec = JSON.parse(line) as typeof rec;
        } catch {
          continue;
        }
        if (rec.event === 'admit' || rec.event === 'reject') waiters.shift()?.({ ...rec, decision: rec.event });
        else if ((rec.level ?? 0) >= 40 && !shutdown.muted) process.stdout.write(`[${gate}] ${line}\n`);
      }
    },
  };
  return {
    logger: pino({ level: 'info', base: { gate } }, stream),
    next(timeoutMs: number): Promise<Decision | null> {
      return new Promise((resolveNext) => {
        const w = (d: Decision | null) => {
          clearTimeout(timer);
          resolveNext(d);
        };
        const timer = setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i >= 0) waiters.splice(i, 1);
          resolveNext(null);
        }, timeoutMs);
        waiters.push(w);
      });
    },
  };
}

/** Present a credential at a gate: through the simulated scanner/reader when there is hardware, else daemon.scan(). */
async function present(g: DemoGate, c: { qr: string } | { idNumber: string; name: string }): Promise<Decision | null> {
  const dev = g.devices;
  if (dev && 'qr' in c) {
    const next = g.nextDecision(3000);
    await dev.scan(c.qr);
    return next;
  }
  if (dev?.placeCard && 'idNumber' in c) {
    const next = g.nextDecision(4000);
    dev.placeCard(c.idNumber, c.name);
    const d = await next;
    dev.removeCard?.();
    return d;
  }
  const cred: Credential = 'qr' in c ? { kind: 'qr', text: c.qr } : { kind: 'idcard', idHash: hashIdNumber(g.idHashKey, c.idNumber), masked: maskIdNumber(c.idNumber) };
  const o = await g.daemon.scan(cred, 'demo');
  return { decision: o.decision, reason: o.reason, ...(o.detail ? { detail: o.detail } : {}), ticketId: o.ticketId, typeId: o.typeId, persons: o.persons, decisionMs: o.decisionMs, ...(cred.kind === 'idcard' ? { idcard: cred.masked } : {}) };
}

type SaleResult = { ok: true; orderId: string; tickets: { ticketId: string; persons: number }[]; seq: bigint; amountFen: number } | { ok: false; error: string; message: string };

/** Buy through the channel API as a sales channel does: create the order (real names), then pay it (the channel confirms, or the visitor pays through the provider). */
async function buy(sales: DemoSales, channel: keyof DemoSales['keys'], typeId: string, visitors: { name: string; idNumber: string }[], n: number): Promise<SaleResult> {
  const call = async (path: string, body: unknown, idem: string) => {
    const res = await fetch(`${sales.baseUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sales.keys[channel]}`, 'content-type': 'application/json', 'idempotency-key': idem },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const run = randomBytes(3).toString('hex');
  const phone = `13${String(800_000_000 + n).padStart(9, '0')}`;
  const created = await call('/v1/channel/orders', { typeId, ...sales.today(), contactPhone: phone, visitors }, `demo-${run}-${n}-order`);
  if (created.status !== 201) return { ok: false, error: String(created.body.error ?? created.status), message: String(created.body.message ?? '') };
  const orderId = String(created.body.orderId);
  const amountFen = Number(created.body.amountFen);
  const viaProvider = sales.payByProvider?.(channel, orderId, n);
  if (viaProvider) {
    const r = await viaProvider;
    return r.ok ? { ok: true, orderId, tickets: r.tickets, seq: r.seq, amountFen } : r;
  }
  const paid = await call(`/v1/channel/orders/${orderId}/pay`, { paymentRef: `${channel}pay-${run}-${n}`, amountFen }, `demo-${run}-${n}-pay`);
  if (paid.status !== 200) return { ok: false, error: String(paid.body.error ?? paid.status), message: String(paid.body.message ?? '') };
  const tickets = (paid.body.tickets as { ticketId: string; persons: number }[]) ?? [];
  return { ok: true, orderId, tickets, seq: BigInt(String(paid.body.whitelistSeq ?? 0)), amountFen };
}

/** Wait (up to a bound) until the gate has applied the whitelist delta with `seq`: the sale's tickets are there. */
async function untilSynced(g: DemoGate, seq: bigint, timeoutMs = 3000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const at = g.daemon.status().sync?.whitelistSeq;
    if (at !== null && at !== undefined && BigInt(at) >= seq) return;
    await sleep(25);
  }
}

type Visit =
  | { kind: 'buy'; channel: 'wechat' | 'meituan' | 'kiosk'; entry: 'qr' | 'idcard' }
  | { kind: 'scan'; label: string; cred: { qr: string } | { idNumber: string; name: string } };

interface Flow {
  /** Tickets admitted so far (for re-scans), with the gate and when. */
  admitted: { ticketId: string; gate: string; at: number }[];
  sampleNext: number;
  offline: number;
  card: number;
}

/** Walk-up visitors, by weight: with sales few pre-sold tickets (the park should fill from the channels) and more noise. */
const WALK_UP = {
  offline: { presold: 60, again: 10, offlineTicket: 8, idCard: 8, forged: 6, unknown: 5, garbage: 3 },
  sales: { presold: 20, again: 20, offlineTicket: 10, idCard: 10, forged: 15, unknown: 15, garbage: 10 },
} as const;

/** The walk-up flow of the demo: local (pre-sold) tickets, re-scans, kiosk-signed offline tickets and noise. */
function walkUp(site: DemoSite, key: SigningKey, flow: Flow, gate: string, withSales: boolean): Visit {
  const weights = WALK_UP[withSales ? 'sales' : 'offline'];
  let roll = Math.random() * Object.values(weights).reduce((a, b) => a + b, 0);
  let kind = 'presold' as keyof typeof weights;
  for (const [k, w] of Object.entries(weights) as [keyof typeof weights, number][]) {
    kind = k;
    if ((roll -= w) < 0) break;
  }
  if (kind === 'again' && flow.admitted.length === 0) kind = 'presold';
  switch (kind) {
    case 'presold': {
      const id = site.sample.ids[flow.sampleNext++ % site.sample.ids.length]!;
      return { kind: 'scan', label: 'pre-sold QR ticket', cred: { qr: `]Q1ST1:${id}` } };
    }
    case 'again': {
      // Preferably one that entered at the other gate a while ago: that gate knows it from the cloud.
      const old = flow.admitted.filter((a) => Date.now() - a.at > 1500);
      const other = old.filter((a) => a.gate !== gate);
      const t = pick(other.length > 0 ? other : old.length > 0 ? old : flow.admitted);
      return { kind: 'scan', label: t.gate === gate ? 'QR scanned again' : `re-scan (in at ${t.gate})`, cred: { qr: `ST1:${t.ticketId}` } };
    }
    case 'offlineTicket': {
      const code = issueOfflineTicket(key, { site: 'demo-park', ticketId: `KIOSK${String(flow.offline++).padStart(6, '0')}`, typeId: 'adult', visitDate: site.today, slotStart: null, slotEnd: null, persons: 2, issuedAt: Math.floor(Date.now() / 1000) });
      return { kind: 'scan', label: 'kiosk offline ticket', cred: { qr: code } };
    }
    case 'idCard': {
      // From the end of the sample: those tickets are never among the pre-sold QR scans.
      const cards = site.sample.idCards;
      const id = cards[cards.length - 1 - (flow.card++ % cards.length)]!;
      return { kind: 'scan', label: 'ID card (pre-sold)', cred: { idNumber: id, name: pick(NAMES) } };
    }
    case 'forged': {
      const code = issueOfflineTicket(key, { site: 'demo-park', ticketId: newTicketId(), typeId: 'adult', visitDate: site.today, slotStart: null, slotEnd: null, persons: 1, issuedAt: 0 });
      return { kind: 'scan', label: 'forged code', cred: { qr: code.replace(/\.(.)/, (_m, c: string) => `.${c === 'A' ? 'B' : 'A'}`) } };
    }
    case 'unknown':
      return { kind: 'scan', label: 'unknown ticket', cred: { qr: `ST1:${newTicketId()}` } };
    default:
      return { kind: 'scan', label: 'garbage scan', cred: { qr: 'http://example.com/?not-a-ticket' } };
  }
}

/** Let the turnstiles finish the pulses still queued (a line of groups takes a while), within a bound. */
async function drainPulses(gates: DemoGate[]): Promise<void> {
  const owed = () => Math.max(0, ...gates.map((g) => (g.devices ? g.daemon.status().persons - g.devices.pulses() : 0)));
  const until = Date.now() + 2000 + owed() * 300;
  while (owed() > 0 && Date.now() < until) await sleep(50);
}

/** Write a gate's gate.yaml under `dir/<gate>/` from the site's template: its own store, the site's keys. */
function writeGateConfig(
  site: DemoSite,
  gate: string,
  o: {
    mqtt?: Record<string, unknown>;
    login?: { username: string; token: string };
    control?: { id: string; publicKey: string };
    devices?: DemoGateDevices;
    ticketTypes?: { id: string }[];
    /** More ST2 keys the gate trusts (the demo kiosk's). */
    offlineKeys?: { id: string; publicKey: string }[];
  },
): string {
  const doc = parse(readFileSync(site.configPath, 'utf8')) as Record<string, unknown> & { keys: Record<string, unknown> };
  const gateDir = join(site.dir, gate);
  mkdirSync(gateDir, { recursive: true });
  doc.gate = { id: gate, name: gate.startsWith('east') ? 'East gate lane 1' : 'West gate lane 1', zone: 'main' };
  doc.store = { path: 'gate.db' };
  doc.keys = { ...doc.keys, idHash: { file: '../idhash.key' }, ...(o.control ? { control: [o.control] } : {}) };
  if (o.offlineKeys) doc.keys.offline = [...((doc.keys.offline as unknown[] | undefined) ?? []), ...o.offlineKeys];
  // What the cloud sells, plus the local demo types its tickets do not replace.
  const sold = o.ticketTypes;
  if (sold) doc.ticketTypes = [...sold, ...DEMO_TICKET_TYPES.filter((t) => !sold.some((c) => c.id === t.id))];
  if (o.mqtt) doc.mqtt = o.mqtt;
  if (o.mqtt && o.login) {
    // The gate's own credential, readable by it alone, as a technician provisions one.
    writeFileSync(join(gateDir, 'mqtt.pw'), `${o.login.token}\n`, { mode: 0o600 });
    doc.mqtt = { ...o.mqtt, username: o.login.username, passwordFile: 'mqtt.pw' };
  }
  if (o.devices) Object.assign(doc, { inputs: o.devices.inputs, relay: o.devices.relay });
  const path = join(gateDir, 'gate.yaml');
  writeFileSync(path, `# Generated demo gate config (see docs/gate-config.md)\n${stringify(doc)}`, { mode: 0o600 });
  return path;
}

export async function runDemoPark(opts: DemoParkOptions = {}): Promise<void> {
  const dir = resolve(opts.dir ?? process.env.DEMO_DIR ?? join(process.cwd(), '.demo'));
  rmSync(dir, { recursive: true, force: true });
  const cloud = opts.cloud;
  console.log(`Stile demo park — generating a park with 20,000 tickets and ${GATES.length} gates…`);
  // With a cloud the whitelist is at seq 0, so the cloud's first delta (seq 1) applies.
  const site = await createDemoSite(dir, { tickets: 20_000, ...(cloud ? { asOfSeq: '0' } : {}) });
  // The cloud checks the signed ST2 codes the gates admit against the site's offline keys.
  const offlineKeys = (parse(readFileSync(site.configPath, 'utf8')) as { keys: { offline?: { id: string; publicKey: string }[] } }).keys.offline ?? [];
  // One kiosk on simulated devices (they need the hardware simulator's ptys): its ST2 key is trusted by the cloud and the gates.
  const kioskPlan = cloud && opts.hardware ? provisionDemoKiosk(dir) : undefined;
  const started = cloud ? await cloud.start(dir, { id: 'demo-park', gates: [...GATES], idHashKey: site.idHashKey, offlineKeys, ...(kioskPlan ? { kiosk: kioskPlan } : {}) }) : undefined;
  if (started) console.log(started.describe);
  const sales = started?.sales;
  const key = loadSigningKey(site.keyId, readFileSync(site.signingKeyPath, 'utf8'));

  const gates: DemoGate[] = [];
  let kiosk: DemoKiosk | undefined;
  let stopping = false;
  const stop = () => {
    stopping = true;
    shutdown.muted = true;
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    if (!opts.hardware && opts.hardwareNote) console.log(opts.hardwareNote);
    else if (opts.hardware) console.log(opts.hardware.describe);
    for (const id of GATES) {
      const devices = opts.hardware ? await opts.hardware.gate(join(dir, id, 'dev'), id) : undefined;
      const login = started?.gateCredentials?.[id];
      const configPath = writeGateConfig(site, id, {
        ...(started ? { mqtt: started.mqtt, control: started.control } : {}),
        ...(login ? { login } : {}),
        ...(devices ? { devices } : {}),
        ...(started?.ticketTypes ? { ticketTypes: started.ticketTypes } : {}),
        ...(kioskPlan ? { offlineKeys: [kioskPlan.offlineKey] } : {}),
      });
      const cfg = loadGateConfig(configPath);
      const store = new GateStore(openDatabase(cfg.store.path));
      const imported = await importSnapshot(store.db, site.whitelistPath);
      store.close();
      const log = gateLogger(id);
      const daemon = startGateDaemon(devices ? cfg : { ...cfg, inputs: [] }, log.logger);
      gates.push({ id, daemon, devices, idHashKey: site.idHashKey, nextDecision: (ms) => log.next(ms) });
      console.log(`${id}: ${imported.tickets} tickets imported in ${imported.ms.toFixed(0)} ms → ${cfg.store.path}${devices ? `, scanner ${String(devices.inputs[0]?.path ?? '-')}` : ''}`);
    }
    if (kioskPlan && started?.kiosk) {
      try {
        kiosk = await startDemoKiosk({ site: { id: 'demo-park', timeZone: sales?.timeZone ?? 'Asia/Shanghai', idHashKey: site.idHashKey }, kiosk: kioskPlan, cloud: started.kiosk });
        console.log(kiosk.describe);
      } catch (err) {
        console.log(`kiosk: not started (${(err as Error).message}); kiosk visitors buy through the channel API`);
      }
    }
    console.log(`try in another terminal:  node gate-agent/bin/gatectl.js --config ${join(dir, GATES[0], 'gate.yaml')} status\n`);
    if (started) {
      // Both gates on the broker before the first visitor: sales reach them at once.
      const until = Date.now() + 10_000;
      while (!gates.every((g) => g.daemon.status().sync?.connected) && Date.now() < until) await sleep(50);
    }
    if (opts.hardware) await sleep(300); // the gates open their ports

    const timeZone = sales?.timeZone ?? 'Asia/Shanghai';
    const clock = () => new Date().toLocaleTimeString('en-GB', { timeZone });
    const flow: Flow = { admitted: [], sampleNext: 0, offline: 0, card: 0 };
    const stats = { sold: 0, soldPersons: 0, refused: {} as Record<string, number> };
    let redRefusals = 0;
    let buyVisits = 0;
    let buyers = 0;

    const show = (g: DemoGate, label: string, who: string, d: Decision | null) => {
      const ms = d?.decisionMs !== undefined ? d.decisionMs.toFixed(2) : '-';
      const prefix = `${clock()}  ${g.id.padEnd(7)}`;
      if (!d) console.log(`${prefix} ? NO DECISION ${label.padEnd(22)} ${who.padEnd(26)} (no answer from the gate in time)`);
      else if (d.decision === 'admit') console.log(`${prefix} ✔ ADMIT   ${label.padEnd(22)} ${who.padEnd(26)} ${d.typeId} ×${d.persons}  (decision ${ms} ms)`);
      else console.log(`${prefix} ✘ REJECT  ${label.padEnd(22)} ${who.padEnd(26)} ${d.reason}${d.detail ? ` — ${d.detail}` : ''}`);
    };

    const refuse = (channel: string, what: string, who: string, r: { error: string; message: string }) => {
      stats.refused[r.error] = (stats.refused[r.error] ?? 0) + 1;
      if (r.error === 'capacity_red') redRefusals++;
      const where = channel === 'kiosk' ? 'kiosk' : 'online';
      console.log(`${clock()}  ${where.padEnd(7)} ✘ NO SALE ${`${channel} ${what}`.padEnd(22)} ${who.padEnd(26)} ${r.error}${r.message ? ` — ${r.message}` : ''}`);
    };

    const kioskSales = { cash: 0, code: 0 };
    /** At the kiosk: touch, ID cards, a ¥100 note or a payment code (taking turns), the printed ticket's QR code at the gate. */
    const atKiosk = async (g: DemoGate, k: DemoKiosk, typeId: string, visitors: { name: string; idNumber: string }[], buyer: string) => {
      const method = (kioskSales.cash + kioskSales.code) % 2 === 0 ? 'cash' : 'code';
      const r = await k.buy(typeId, visitors, method, buyers, sales?.today().slotId);
      if (!r.ok) return refuse('kiosk', typeId, buyer, r);
      kioskSales[method]++;
      stats.sold++;
      stats.soldPersons += visitors.length;
      const code = r.codes[0];
      if (!code) return console.log(`${clock()}  kiosk   ! ${method} sale printed no ticket code`);
      const who = code.startsWith('ST1:') ? code.slice(4) : 'ST2 (kiosk-signed)';
      let d = await present(g, { qr: code });
      // An ST1 ticket reaches the gate with the cloud's next whitelist delta: the visitor tries again a second later.
      for (let i = 0; i < 3 && d?.decision === 'reject' && d.reason === 'unknown_ticket'; i++) {
        await sleep(1000);
        d = await present(g, { qr: code });
      }
      show(g, `kiosk ${method} → QR`, who, d);
      if (d?.decision === 'admit' && d.ticketId && code.startsWith('ST1:')) flow.admitted.push({ ticketId: d.ticketId, gate: g.id, at: Date.now() });
    };

    /** A party buys (online first unless it goes to the kiosk; online refused at orange → kiosk), then enters. */
    const buyAndEnter = async (g: DemoGate, v: Extract<Visit, { kind: 'buy' }>) => {
      if (!sales) return;
      const party = Math.random();
      const typeId = party < 0.55 ? 'adult' : party < 0.7 ? 'child' : party < 0.8 ? 'senior' : 'family';
      const size = typeId === 'family' ? 3 : 1;
      const visitors = Array.from({ length: size }, () => ({ name: pick(NAMES), idNumber: visitorIdNumber(++buyers) }));
      const buyer = maskIdNumber(visitors[0]!.idNumber);
      let channel = v.channel;
      if (channel === 'kiosk' && kiosk) return atKiosk(g, kiosk, typeId, visitors, buyer);
      let r = await buy(sales, channel, typeId, visitors, buyers);
      if (!r.ok && channel !== 'kiosk' && (r.error === 'capacity_orange' || r.error === 'kiosk_reserve_exhausted')) {
        refuse(channel, typeId, buyer, r);
        channel = 'kiosk';
        if (kiosk) return atKiosk(g, kiosk, typeId, visitors, buyer);
        r = await buy(sales, channel, typeId, visitors, buyers);
      }
      if (!r.ok) return refuse(channel, typeId, buyer, r);
      stats.sold++;
      stats.soldPersons += size;
      await untilSynced(g, r.seq);
      const t = r.tickets[0]!;
      const label = `${channel} → ${v.entry === 'idcard' ? 'ID card' : 'QR'}`;
      const cred = v.entry === 'idcard' ? { idNumber: visitors[0]!.idNumber, name: visitors[0]!.name } : { qr: `ST1:${t.ticketId}` };
      const who = v.entry === 'idcard' ? buyer : t.ticketId;
      let d = await present(g, cred);
      if (d?.decision === 'reject' && d.reason === 'unknown_ticket') {
        // The delta was slow: the visitor tries again a second later.
        await sleep(1000);
        d = await present(g, cred);
      }
      show(g, label, who, d);
      if (d?.decision === 'admit') flow.admitted.push({ ticketId: t.ticketId, gate: g.id, at: Date.now() });
    };

    for (let n = 1; !stopping && (VISITORS === 0 || n <= VISITORS); n++) {
      const g = pick(gates);
      const roll = Math.random();
      const level = cloud?.level?.() ?? 'green';
      let visit: Visit;
      if (sales && roll < 0.7) {
        const entry = Math.random() < 0.25 ? 'idcard' : 'qr';
        // Online while it sells; from orange on most go to the kiosk, a few still try online.
        const online = level === 'green' || level === 'yellow' ? Math.random() < 0.85 : Math.random() < 0.3;
        // Every fifth buyer walks to the kiosk anyway (when there is one): it sells from the first minutes.
        const toKiosk = !online || (kiosk !== undefined && buyVisits++ % 5 === 0);
        visit = { kind: 'buy', channel: toKiosk ? 'kiosk' : pick(['wechat', 'meituan'] as const), entry };
      } else {
        visit = walkUp(site, key, flow, g.id, !!sales);
      }
      try {
        if (visit.kind === 'buy') await buyAndEnter(g, visit);
        else {
          const d = await present(g, visit.cred);
          const who = 'idNumber' in visit.cred ? maskIdNumber(visit.cred.idNumber) : (d?.ticketId ?? '-');
          show(g, visit.label, who, d);
          if (d?.decision === 'admit' && d.ticketId && !('idNumber' in visit.cred)) flow.admitted.push({ ticketId: d.ticketId, gate: g.id, at: Date.now() });
        }
      } catch (err) {
        console.log(`${clock()}  ${g.id.padEnd(7)} ! visitor ${n} failed: ${(err as Error).message}`);
      }
      if (VISITORS === 0 && redRefusals >= RED_REFUSALS) {
        console.log(`\nThe park is full for today (${cloud?.level?.() ?? 'red'}): sales are closed.`);
        await drainPulses(gates);
        if (started?.dashboardUrl) console.log(`The demo keeps running so you can explore the dashboard: ${started.dashboardUrl}`);
        console.log('Ctrl-C to stop.');
        while (!stopping) await sleep(200);
        break;
      }
      await sleep(PACE_MS);
    }

    // Not after Ctrl-C, which took the simulated devices down with it.
    if (!stopping) await drainPulses(gates);
    console.log('');
    let admitted = 0;
    for (const g of gates) {
      const s = g.daemon.status();
      admitted += s.admitted;
      const pulses = g.devices ? `, relay pulsed ${g.devices.pulses()}×` : '';
      console.log(`${g.id}: ${s.admitted} admitted (${s.persons} persons), ${s.rejected} rejected ${JSON.stringify(s.rejectsByReason)}${pulses}`);
      const sync = s.sync;
      if (sync) console.log(`${g.id} sync: ${sync.connected ? 'connected' : 'not connected'}, outbox ${sync.outboxDepth} entries waiting, whitelist seq ${sync.whitelistSeq ?? '-'}`);
    }
    if (sales) console.log(`sales: ${stats.sold} orders (${stats.soldPersons} persons), refused ${JSON.stringify(stats.refused)}`);
    if (kiosk) console.log(`${kiosk.daemon.runtime.state().phase === 'idle' ? 'kiosk-1' : 'kiosk-1 (mid-sale)'}: ${kioskSales.cash + kioskSales.code} sales (${kioskSales.cash} cash, ${kioskSales.code} payment code), outbox ${kiosk.daemon.sync?.outbox.outboxDepth() ?? 0} records waiting`);
    if (cloud) console.log(await cloud.summary(admitted));
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await kiosk?.close().catch(() => undefined);
    for (const g of gates) await g.daemon.stop();
    for (const g of gates) await g.devices?.close();
    await cloud?.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runDemoPark().catch((err: Error) => {
    console.error(`demo failed: ${err.stack}`);
    process.exit(1);
  });
}
