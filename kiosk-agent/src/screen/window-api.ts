/**
 * The staff window page's local API (`/window/*` on the screen server, kiosk.mode: window).
 * The screen server's guards come first (loopback, Host/Origin); then a staff session: an
 * HttpOnly SameSite=Strict cookie issued only after a PIN login through WindowDesk, naming
 * the staff member the desk has logged in. Every desk action needs it; the desk writes the
 * audit rows (with the staff id). One session at a time: a new login ends the old one.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { KioskRuntime } from '../daemon/runtime.js';
import type { SaleConfig } from '../sale/model.js';
import { yuan } from '../sale/text.js';
import { WindowError, type WindowDesk } from '../window/desk.js';
import type { FoundOrder } from '../window/lookup.js';
import { LoginSchema, LookupSchema, PrintSchema, RefundSchema, SaleInputSchema, windowView, type PageOrder, type WindowState } from './window-view.js';

export type WindowRuntime = Pick<KioskRuntime, 'state' | 'catalogue' | 'dispatch'>;

export interface WindowApiOptions {
  desk: WindowDesk;
  staff: { id: string; name: string }[];
  runtime: WindowRuntime;
  sale: SaleConfig;
  log: Logger;
  now: () => number;
}


const COOKIE = 'stile_window';
const MAX_BODY = 4096;
const HEADERS = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'cache-control': 'no-store', 'content-type': 'application/json; charset=utf-8' };
const STATUS_OF: Record<WindowError['code'], number> = {
  unknown_staff: 401, wrong_pin: 401, locked_out: 423, not_logged_in: 401, busy: 409, invalid_id: 400, no_card: 409, no_key: 503,
  lookup_failed: 502, unknown_order: 404, not_paid: 409, not_refundable: 409, unknown_reason: 400, bad_amount: 400, print_failed: 502,
};

export class WindowApi {
  private session: { token: Buffer; staffId: string } | undefined;
  private lastTender: { tendered: string; change: string } | undefined;
  private readonly log: Logger;

  constructor(private readonly o: WindowApiOptions) {
    this.log = o.log.child({ module: 'window_page' });
  }

  /** The staff member of this request's session, if it is the desk's current one. */
  private staffOf(req: IncomingMessage): string | undefined {
    const s = this.session;
    if (!s || this.o.desk.staff !== s.staffId) return undefined;
    const m = new RegExp(`(?:^|;\\s*)${COOKIE}=([A-Za-z0-9_-]{43})(?:;|$)`).exec(req.headers.cookie ?? '');
    if (!m) return undefined;
    const got = Buffer.from(m[1]!, 'base64url');
    return got.length === s.token.length && timingSafeEqual(got, s.token) ? s.staffId : undefined;
  }

  state(staffId: string | undefined): WindowState {
    if (!staffId) return { staff: null };
    const rt = this.o.runtime;
    const catalogue = rt.catalogue();
    return {
      staff: { id: staffId, name: this.o.staff.find((s) => s.id === staffId)?.name ?? staffId },
      view: windowView(rt.state(), { sale: { config: this.o.sale, catalogue } }, this.o.now()),
      types: catalogue.types.map((t) => ({ id: t.id, name: { ...t.name } })),
      ...(this.lastTender ? { lastTender: this.lastTender } : {}),
    };
  }

  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const route = `${req.method} ${path}`;
    if (route === 'GET /window/state') return this.json(res, 200, this.state(this.staffOf(req)));
    if (req.method !== 'POST') return this.json(res, 404, { error: 'not_found' });
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return this.refuse(res, 415, 'not_json', path);
    const body = await readBody(req, MAX_BODY);
    if (body === undefined) return this.refuse(res, 413, 'too_large', path);
    let raw: unknown;
    try {
      raw = JSON.parse(body);
    } catch {
      return this.refuse(res, 400, 'bad_json', path);
    }
    try {
      if (path === '/window/login') return this.login(res, this.parse(LoginSchema, raw));
      const staff = this.staffOf(req);
      if (!staff) return this.refuse(res, 401, 'session', path);
      switch (path) {
        case '/window/logout':
          this.o.desk.logout();
          this.session = undefined;
          return this.json(res, 200, this.state(undefined), { 'set-cookie': `${COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0` });
        case '/window/sale':
          return this.sale(res, staff, this.parse(SaleInputSchema, raw));
        case '/window/lookup': {
          const q = this.parse(LookupSchema, raw);
          const a = await this.o.desk.lookup(q.idNumber);
          return this.json(res, 200, { date: a.date, orders: a.orders.map(pageOrder), refundReasons: a.refundReasons });
        }
        case '/window/print':
          return this.json(res, 200, await this.o.desk.printAgain(this.parse(PrintSchema, raw).orderId));
        case '/window/refund': {
          const q = this.parse(RefundSchema, raw);
          const r = await this.o.desk.refund(q.orderId, q.reason);
          return this.json(res, 200, { ...r, cashBack: yuan(r.cashBackFen) });
        }
        default:
          return this.json(res, 404, { error: 'not_found' });
      }
    } catch (err) {
      if (err instanceof BadInput) return this.refuse(res, 400, 'bad_input', path, { issues: err.issues });
      if (err instanceof WindowError) {
        const seconds = /for (\d+) s/.exec(err.message)?.[1];
        this.log.warn({ event: 'window_refused', path, code: err.code }, err.message);
        return this.json(res, STATUS_OF[err.code], { error: err.code, message: err.message, ...(seconds ? { seconds: Number(seconds) } : {}) });
      }
      throw err;
    }
  }

  private login(res: ServerResponse, q: z.infer<typeof LoginSchema>): void {
    this.o.desk.login(q.staffId, q.pin);
    const token = randomBytes(32);
    this.session = { token, staffId: q.staffId };
    this.lastTender = undefined;
    this.json(res, 200, this.state(q.staffId), { 'set-cookie': `${COOKIE}=${token.toString('base64url')}; HttpOnly; SameSite=Strict; Path=/` });
  }

  private sale(res: ServerResponse, staff: string, q: z.infer<typeof SaleInputSchema>): void {
    if (q.kind === 'start') {
      this.lastTender = undefined;
      this.o.desk.startSale();
    } else if (q.kind === 'tender') {
      const r = this.o.desk.tenderCash(q.amountFen);
      this.lastTender = { tendered: yuan(r.tenderedFen), change: yuan(r.changeFen) };
    } else this.o.runtime.dispatch(q);
    this.json(res, 200, this.state(staff));
  }

  private parse<T extends z.ZodType>(schema: T, raw: unknown): z.infer<T> {
    const r = schema.safeParse(raw);
    // Only paths and messages: a refused body may hold a PIN or an ID number.
    if (!r.success) throw new BadInput(r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
    return r.data;
  }

  private refuse(res: ServerResponse, status: number, error: string, path: string, extra: Record<string, unknown> = {}): void {
    this.log.warn({ event: 'window_input_refused', status, error, path, ...extra }, 'window request refused');
    this.json(res, status, { error, ...extra });
  }

  private json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { ...HEADERS, ...headers });
    res.end(JSON.stringify(body));
  }
}

class BadInput extends Error {
  constructor(readonly issues: { path: string; message: string }[]) {
    super('bad input');
  }
}

function pageOrder(o: FoundOrder): PageOrder {
  return {
    orderId: o.orderId,
    status: o.status,
    typeId: o.typeId,
    date: o.date,
    slotId: o.slotId,
    persons: o.persons,
    amount: yuan(o.amountFen),
    visitors: o.visitors.map((v) => ({ name: v.name, idMasked: v.idMasked })),
    tickets: o.tickets.length,
    canRefund: o.canRefund,
  };
}

function readBody(req: IncomingMessage, max: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= max) chunks.push(c);
    });
    req.on('end', () => resolve(size > max ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
