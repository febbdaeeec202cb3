import { createHash } from 'node:crypto';
import { z } from 'zod';
import { bothLangs, localText, type LocalText } from './i18n.js';
import { ComboSchema, comboIssues } from './site-config/partners.js';
import { formatZodIssue, hhmm, issuePath, localClock, minutesOfDay, StileError, StileErrorCode, TicketTypeSchema, timeZone, type TicketType } from '@stile/config';

/*
 * The park's catalogue as data: ticket types, time slots, pricing rules, sales channels and
 * refund reasons. Operators edit it as configuration, so every mistake is reported with the
 * path of the bad field and a sentence that says what is wrong, all issues at once.
 */

const ID_RE = /^[A-Za-z0-9_-]+$/;
const ID_MSG = 'letters, digits, _ and - only';
/** Longest ticket type id: "@early"/"@night" is appended for gate variants and gate ids stop at 64. */
const TYPE_ID_MAX = 58;

const id = (max = 64) => z.string().regex(ID_RE, ID_MSG).max(max);

/** Money is whole fen (1 CNY = 100 fen): integers never drift the way 0.1 + 0.2 does. The cap keeps fen × 100 exact. */
const FEN_MSG = 'money is whole fen (1 CNY = 100 fen), e.g. 8000 for ¥80';
const fen = z.number({ error: FEN_MSG }).int(FEN_MSG).min(0, 'a price cannot be negative').max(10_000_000, 'at most 10000000 fen (¥100000)');

const PCT_MSG = 'percentOff must be a whole number from 1 to 99';
const percentOff = z.number({ error: PCT_MSG }).int(PCT_MSG).min(1, PCT_MSG).max(99, PCT_MSG);

/** A clear message for a missing required list, zod's own for anything else. */
const required = (what: string) => ({ error: (iss: { input?: unknown }) => (iss.input === undefined ? `missing: ${what}` : undefined) });

const typeRefs = z.array(z.string().min(1)).min(1, 'list at least one ticket type, or leave types out for all types').optional();

export const TicketTypeEntrySchema = z
  .object({
    // No "@": it separates the gate variants id@early / id@night.
    id: id(TYPE_ID_MAX),
    /** "Adult", or { zh-CN: 成人票, en: Adult }: pages, SMS, reports and printouts use the reader's language. */
    name: localText(80),
    priceFen: fen,
    /** People admitted on one ticket: a family package is e.g. 3 persons at one price. */
    persons: z.number().int('persons must be a whole number').min(1, 'persons must be at least 1').max(100).default(1),
    /** 'weekend' is a weekend special; it is refused for weekday visits. */
    days: z.enum(['any', 'weekend', 'weekday']).default('any'),
    /** Channels that may sell this type; absent means every channel. */
    channels: z.array(z.string().min(1)).min(1, 'list at least one channel, or leave channels out for all channels').optional(),
    // Gate-side rules, exactly the schemas the gates validate (config/src/rules.ts).
    entries: TicketTypeSchema.shape.entries,
    entryWindow: TicketTypeSchema.shape.entryWindow,
    slotGrace: TicketTypeSchema.shape.slotGrace,
    gates: TicketTypeSchema.shape.gates,
    zones: TicketTypeSchema.shape.zones,
    antiPassbackSec: TicketTypeSchema.shape.antiPassbackSec,
    /** A combo (ticket + hotel night): partners' parts and shares; the park keeps the rest (docs/visitor-data/combos.md). */
    combo: ComboSchema.optional(),
    /**
     * Free rebooking (#19, docs/visitor-data/insight.md): rebooked without fee until this many
     * hours before the slot starts (no slots: `opensAt` of the visit day, default the type's
     * entry window start, else 00:00), refused after (rebook_too_late). Absent: rebooked freely
     * as long as no ticket has entered.
     */
    rebooking: z
      .object({
        freeUntilHoursBefore: z.number().min(0, 'freeUntilHoursBefore cannot be negative').max(720, 'freeUntilHoursBefore: at most 720 (30 days)'),
        opensAt: hhmm.optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const SlotSchema = z
  .object({
    id: id(),
    start: hhmm,
    end: hhmm,
    /** Persons per day. 0 closes the slot without deleting it, so tickets already sold keep their slot id. */
    quota: z.number().int('quota must be a whole number of persons').min(0, 'quota cannot be negative').max(1_000_000),
    /** Optional display name ("上午场 / Morning"); without it pages show the times. */
    name: localText(40).optional(),
  })
  .strict();

const EarlyBirdSchema = z
  .object({
    kind: z.literal('earlyBird'),
    /** Entry before this time of day. */
    before: hhmm.refine((s) => s !== '00:00', 'before 00:00 leaves no early-bird window').default('08:00'),
    percentOff: percentOff.default(20),
    types: typeRefs,
  })
  .strict();

const NightSchema = z
  .object({
    kind: z.literal('night'),
    /** Entry at or after this time of day. */
    from: hhmm.refine((s) => s !== '24:00', 'from 24:00 leaves no night window').default('17:00'),
    percentOff: percentOff.default(30),
    types: typeRefs,
  })
  .strict();

const OffSeasonWeekendSchema = z
  .object({
    kind: z.literal('offSeasonWeekend'),
    /** Off-season months, 1 = January … 12 = December; the discount applies on their Saturdays and Sundays. */
    months: z.array(z.number().int('months are 1–12').min(1, 'months are 1–12').max(12, 'months are 1–12')).min(1, 'list at least one off-season month'),
    percentOff,
    types: typeRefs,
  })
  .strict();

const ChannelPriceSchema = z
  .object({
    kind: z.literal('channelPrice'),
    channel: z.string().min(1),
    type: z.string().min(1),
    /** Replaces the type's base price on this channel; percentage discounts then apply to it. */
    priceFen: fen,
  })
  .strict();

export const PricingRuleSchema = z.discriminatedUnion('kind', [EarlyBirdSchema, NightSchema, OffSeasonWeekendSchema, ChannelPriceSchema], {
  error: 'kind must be one of earlyBird, night, offSeasonWeekend, channelPrice',
});

export const ChannelSchema = z
  .object({
    id: id(),
    name: localText(100).optional(),
    kind: z.enum(['online', 'kiosk']),
    /** SHA-256 of the channel's API key, hex. Only the hash is configured, so a leaked config does not leak keys. */
    apiKeySha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'expected the SHA-256 of the API key as 64 hex digits (store the hash, never the key)')
      .transform((s) => s.toLowerCase()),
    /**
     * Who takes the money. `partner` (default): the channel collects it itself (Meituan-style)
     * and confirms with POST …/pay {paymentRef, amountFen}. `provider`: our own booking page and
     * kiosk, paid through WeChat Pay / Alipay (modules/payments); the order becomes paid only
     * from a verified provider notification or query, and …/pay is refused (payment_by_provider).
     */
    payment: z.enum(['partner', 'provider']).default('partner'),
  })
  .strict();

export const RefundReasonSchema = z.object({ code: id(), label: localText(100) }).strict();

/** Default days ahead a visit date may be sold (today is day 0); parks usually set 7–60. */
export const DEFAULT_BOOKING_HORIZON_DAYS = 180;

/**
 * Real-name rules, enforced on every order and rebooking: how many places one ID number may
 * hold for one visit date (across orders and channels; pending and paid orders count, refunded
 * and expired ones do not), and how far ahead dates are sold.
 */
export const RealNameSchema = z
  .object({
    ticketsPerIdPerDay: z.number().int('ticketsPerIdPerDay must be a whole number').min(1, 'ticketsPerIdPerDay must be at least 1').max(100, 'ticketsPerIdPerDay: at most 100').default(1),
    bookingHorizonDays: z
      .number()
      .int('bookingHorizonDays must be a whole number of days')
      .min(0, 'bookingHorizonDays must not be negative (0: today only)')
      .max(730, 'bookingHorizonDays: at most 730 (two years)')
      .default(DEFAULT_BOOKING_HORIZON_DAYS),
  })
  .strict();

const CatalogueShape = z
  .object({
    /** The park's name for visitors and reports ({ zh-CN, en }); without it, the site id. */
    name: localText(100).optional(),
    currency: z.literal('CNY', { error: 'only CNY is supported' }).default('CNY'),
    /** The park's zone: callers use it to decide what "today" is; visit dates themselves are calendar dates. */
    timeZone: timeZone.default('Asia/Shanghai'),
    ticketTypes: z.array(TicketTypeEntrySchema, required('list the ticket types')).min(1, 'at least one ticket type is needed'),
    slots: z.array(SlotSchema).default([]),
    pricing: z.array(PricingRuleSchema).default([]),
    channels: z.array(ChannelSchema, required('list the sales channels')).min(1, 'at least one sales channel is needed'),
    // Every refund names a reason, so an empty list would make refunds impossible.
    refundReasons: z.array(RefundReasonSchema, required('list the refund reasons ({ code, label })')).min(1, 'at least one refund reason is needed'),
    realName: RealNameSchema.default({ ticketsPerIdPerDay: 1, bookingHorizonDays: DEFAULT_BOOKING_HORIZON_DAYS }),
  })
  .strict();

type Shape = z.output<typeof CatalogueShape>;
export type CatalogueTicketType = Shape['ticketTypes'][number];
export type Slot = Shape['slots'][number];
export type PricingRule = Shape['pricing'][number];
export type EarlyBirdRule = Extract<PricingRule, { kind: 'earlyBird' }>;
export type NightRule = Extract<PricingRule, { kind: 'night' }>;
export type Channel = Shape['channels'][number];
export type RefundReason = Shape['refundReasons'][number];
export type RealNameRules = Shape['realName'];

/* ---------- entry windows (shared by validation, pricing and the gate rules) ---------- */

export type EntryKind = 'early' | 'night';
export interface EntryWindow {
  from: string;
  to: string;
}
/** What an entry choice means for one ticket type: the rule that prices it and the window the gate enforces. */
export interface EntryOffer {
  kind: EntryKind;
  rule: EarlyBirdRule | NightRule;
  ruleIndex: number;
  window: EntryWindow;
}

const DAY_MIN = 1440;
type Span = [number, number]; // minutes of day, half-open

function hm(min: number): string {
  return `${String(Math.floor(min / 60)).padStart(2, '0')}:${String(min % 60).padStart(2, '0')}`;
}

function spans(w: EntryWindow | undefined): Span[] {
  if (!w) return [[0, DAY_MIN]];
  const f = minutesOfDay(w.from);
  const t = minutesOfDay(w.to);
  // Same convention as the gate's decide(): from > to wraps midnight.
  if (f < t) return [[f, t]];
  return ([[f, DAY_MIN], [0, t]] as Span[]).filter(([a, b]) => a < b);
}

/** The rule's window cut by the type's own entryWindow: one window, none (empty) or 'split' (two pieces a gate cannot hold). */
function intersectWindow(typeWindow: EntryWindow | undefined, rule: Span): EntryWindow | 'empty' | 'split' {
  const parts = spans(typeWindow)
    .map(([a, b]): Span => [Math.max(a, rule[0]), Math.min(b, rule[1])])
    .filter(([a, b]) => a < b);
  if (parts.length === 0) return 'empty';
  if (parts.length === 1) return { from: hm(parts[0]![0]), to: hm(parts[0]![1]) };
  // Two pieces that meet at midnight are one wrapping window.
  const late = parts.find((p) => p[1] === DAY_MIN);
  const early = parts.find((p) => p[0] === 0);
  if (parts.length === 2 && late && early) return { from: hm(late[0]), to: hm(early[1]) };
  return 'split';
}

function appliesTo(rule: { types?: string[] | undefined }, typeId: string): boolean {
  return rule.types === undefined || rule.types.includes(typeId);
}

function ruleSpan(rule: EarlyBirdRule | NightRule): Span {
  return rule.kind === 'earlyBird' ? [0, minutesOfDay(rule.before)] : [minutesOfDay(rule.from), DAY_MIN];
}

/** Rules of the entry's kind that cover this type (validation keeps it to one per type). */
function entryRules(pricing: PricingRule[], typeId: string, kind: EntryKind): { rule: EarlyBirdRule | NightRule; index: number }[] {
  const want = kind === 'early' ? 'earlyBird' : 'night';
  const out: { rule: EarlyBirdRule | NightRule; index: number }[] = [];
  pricing.forEach((rule, index) => {
    if ((rule.kind === 'earlyBird' || rule.kind === 'night') && rule.kind === want && appliesTo(rule, typeId)) out.push({ rule, index });
  });
  return out;
}

/**
 * The early/night entry a type may be sold with, or undefined when no rule offers it (or the
 * type's own entry window leaves no time in the rule's window).
 */
export function entryOffer(catalogue: Pick<Catalogue, 'pricing'>, type: Pick<CatalogueTicketType, 'id' | 'entryWindow'>, kind: EntryKind): EntryOffer | undefined {
  const found = entryRules(catalogue.pricing, type.id, kind)[0];
  if (!found) return undefined;
  const window = intersectWindow(type.entryWindow, ruleSpan(found.rule));
  if (window === 'empty' || window === 'split') return undefined;
  return { kind, rule: found.rule, ruleIndex: found.index, window };
}

/* ---------- cross-reference validation ---------- */

function knownList(ids: string[]): string {
  const shown = ids.slice(0, 12).join(', ');
  return ids.length > 12 ? `${shown}, …` : shown;
}

function checkCatalogue(c: Shape, ctx: z.RefinementCtx): void {
  const add = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });

  const indexById = <T>(items: T[], key: (t: T) => string, label: string, path: (i: number) => (string | number)[]) => {
    const seen = new Map<string, number>();
    items.forEach((item, i) => {
      const k = key(item);
      const prev = seen.get(k);
      if (prev !== undefined) add(path(i), `duplicate ${label} "${k}" (first at index ${prev})`);
      else seen.set(k, i);
    });
    return seen;
  };

  const types = indexById(c.ticketTypes, (t) => t.id, 'ticket type id', (i) => ['ticketTypes', i, 'id']);
  indexById(c.slots, (s) => s.id, 'slot id', (i) => ['slots', i, 'id']);
  const channels = indexById(c.channels, (ch) => ch.id, 'channel id', (i) => ['channels', i, 'id']);
  indexById(c.refundReasons, (r) => r.code, 'refund reason code', (i) => ['refundReasons', i, 'code']);
  // One key hash must identify exactly one channel, or the channel API cannot tell who is calling.
  c.channels.forEach((ch, i) => {
    const j = c.channels.findIndex((o) => o.apiKeySha256 === ch.apiKeySha256);
    if (j < i) add(['channels', i, 'apiKeySha256'], `same API key hash as channels[${j}] ("${c.channels[j]!.id}"); each channel needs its own key`);
  });

  const typeIds = [...types.keys()];
  const channelIds = [...channels.keys()];
  const unknownType = (t: string) => `unknown ticket type "${t}" (known: ${knownList(typeIds)})`;
  const unknownChannel = (ch: string) => `unknown channel "${ch}" (known: ${knownList(channelIds)})`;

  c.ticketTypes.forEach((t, i) => {
    t.channels?.forEach((ch, k) => {
      if (!channels.has(ch)) add(['ticketTypes', i, 'channels', k], unknownChannel(ch));
      else if (t.channels!.indexOf(ch) < k) add(['ticketTypes', i, 'channels', k], `channel "${ch}" is listed twice`);
    });
    // What the gates will validate, checked here so a bad rule never reaches them.
    const gate = TicketTypeSchema.safeParse(gateRule(t));
    if (!gate.success) for (const issue of gate.error.issues) add(['ticketTypes', i, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))], issue.message);
    // A combo's split must fit every price the type is sold at (its own, each channel's).
    if (t.combo) {
      const prices = [{ fen: t.priceFen, where: "the type's price" }, ...c.pricing.flatMap((r) => (r.kind === 'channelPrice' && r.type === t.id ? [{ fen: r.priceFen, where: `channel "${r.channel}"` }] : []))];
      for (const issue of comboIssues(t.combo, prices)) add(['ticketTypes', i, 'combo', ...issue.path], issue.message);
    }
  });

  // Slots: end after start, and no two slots overlap (quotas are per slot; an overlap double-counts the same hours).
  c.slots.forEach((s, i) => {
    if (minutesOfDay(s.end) <= minutesOfDay(s.start)) add(['slots', i, 'end'], `slot "${s.id}" ends at ${s.end}, which is not after its start ${s.start}`);
  });
  const ordered = c.slots
    .map((s, i) => ({ s, i, a: minutesOfDay(s.start), b: minutesOfDay(s.end) }))
    .filter((x) => x.a < x.b)
    .sort((x, y) => x.a - y.a || x.i - y.i);
  ordered.forEach((x, k) => {
    for (const y of ordered.slice(0, k)) {
      if (y.b > x.a) add(['slots', x.i, 'start'], `slot "${x.s.id}" (${x.s.start}–${x.s.end}) overlaps slot "${y.s.id}" (${y.s.start}–${y.s.end})`);
    }
  });

  const channelPrices = new Map<string, number>();
  c.pricing.forEach((rule, i) => {
    if (rule.kind === 'channelPrice') {
      const typeOk = types.has(rule.type);
      const channelOk = channels.has(rule.channel);
      if (!typeOk) add(['pricing', i, 'type'], unknownType(rule.type));
      if (!channelOk) add(['pricing', i, 'channel'], unknownChannel(rule.channel));
      if (typeOk && channelOk) {
        const t = c.ticketTypes[types.get(rule.type)!]!;
        if (t.channels && !t.channels.includes(rule.channel)) {
          add(['pricing', i], `ticket type "${rule.type}" is not sold on channel "${rule.channel}" (its channels: ${t.channels.join(', ')}), so this price would never apply`);
        }
      }
      const key = `${rule.channel}\u0000${rule.type}`;
      const prev = channelPrices.get(key);
      if (prev !== undefined) add(['pricing', i], `duplicate channelPrice for channel "${rule.channel}" and type "${rule.type}" (first at pricing[${prev}])`);
      else channelPrices.set(key, i);
      return;
    }
    rule.types?.forEach((t, k) => {
      if (!types.has(t)) add(['pricing', i, 'types', k], unknownType(t));
      else if (rule.types!.indexOf(t) < k) add(['pricing', i, 'types', k], `ticket type "${t}" is listed twice`);
    });
    if (rule.kind === 'offSeasonWeekend') {
      rule.months.forEach((m, k) => {
        if (rule.months.indexOf(m) < k) add(['pricing', i, 'months', k], `month ${m} is listed twice`);
      });
    }
  });

  // Early and night entries become gate windows, one per ticket: each type gets at most one rule of each
  // kind, the early window must end before the night one starts, and the type's own window must leave room.
  const reported = new Set<string>();
  const once = (key: string, path: (string | number)[], message: string) => {
    if (reported.has(key)) return;
    reported.add(key);
    add(path, message);
  };
  c.ticketTypes.forEach((t, ti) => {
    const early = entryRules(c.pricing, t.id, 'early');
    const night = entryRules(c.pricing, t.id, 'night');
    for (const list of [early, night]) {
      for (const extra of list.slice(1)) {
        const first = list[0]!;
        once(`dup:${extra.index}:${first.index}`, ['pricing', extra.index], `a second ${extra.rule.kind} rule for ticket type "${t.id}" (pricing[${first.index}] already covers it); a ticket has one entry window`);
      }
    }
    for (const e of early.slice(0, 1)) {
      for (const n of night.slice(0, 1)) {
        const before = (e.rule as EarlyBirdRule).before;
        const from = (n.rule as NightRule).from;
        if (minutesOfDay(before) > minutesOfDay(from)) {
          once(`order:${e.index}:${n.index}`, ['pricing', e.index, 'before'], `early-bird entry before ${before} is after night entry from ${from} (pricing[${n.index}]); the two windows would overlap`);
        }
      }
    }
    for (const { rule, index } of [...early.slice(0, 1), ...night.slice(0, 1)]) {
      const w = intersectWindow(t.entryWindow, ruleSpan(rule));
      const ruleWin = rule.kind === 'earlyBird' ? `before ${rule.before}` : `from ${rule.from}`;
      if (w === 'split') {
        add(['ticketTypes', ti, 'entryWindow'], `entry window ${t.entryWindow!.from}–${t.entryWindow!.to} splits the ${rule.kind} window (${ruleWin}, pricing[${index}]) in two; a gate ticket holds one window`);
      } else if (w === 'empty' && rule.types?.includes(t.id)) {
        add(['pricing', index, 'types', rule.types.indexOf(t.id)], `ticket type "${t.id}" has entry window ${t.entryWindow!.from}–${t.entryWindow!.to}, which leaves no entry ${ruleWin}`);
      }
    }
  });
}

export const CatalogueSchema = CatalogueShape.superRefine(checkCatalogue);
export type Catalogue = z.output<typeof CatalogueSchema>;
export type CatalogueInput = z.input<typeof CatalogueSchema>;

/* ---------- parsing ---------- */

/** Every problem with a catalogue as "path: message" lines; empty when it is valid. */
export function catalogueIssues(input: unknown): string[] {
  const parsed = CatalogueSchema.safeParse(input);
  return parsed.success ? [] : parsed.error.issues.map((i) => formatZodIssue(i));
}

/** Validate a catalogue; throws a CONFIG_INVALID StileError listing every issue, one "path: message" per line. */
export function parseCatalogue(input: unknown): Catalogue {
  const parsed = CatalogueSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({ path: issuePath(i.path), message: i.message }));
  throw new StileError(StileErrorCode.ConfigInvalid, issues.map((i) => `${i.path}: ${i.message}`).join('\n'), issues);
}

/* ---------- rules for the gates ---------- */

function gateRule(t: CatalogueTicketType): z.input<typeof TicketTypeSchema> {
  const rule: z.input<typeof TicketTypeSchema> = {
    id: t.id,
    name: gateName(t.name),
    entries: t.entries,
    slotGrace: t.slotGrace,
    antiPassbackSec: t.antiPassbackSec,
  };
  if (t.entryWindow) rule.entryWindow = t.entryWindow;
  if (t.gates) rule.gates = t.gates;
  if (t.zones) rule.zones = t.zones;
  return rule;
}

/** The name a gate shows and logs: both languages, as the gate's screen is read by every visitor. */
function gateName(name: LocalText, entry?: EntryKind): string {
  const suffix: LocalText | undefined = entry === undefined ? undefined : entry === 'early' ? { 'zh-CN': '(早鸟)', en: ' (early entry)' } : { 'zh-CN': '(夜场)', en: ' (night entry)' };
  // A name written once stays in one language: "Adult (early entry)", not "Adult(早鸟) Adult (early entry)".
  const named = !suffix ? name : name['zh-CN'] === name.en ? { 'zh-CN': name.en + suffix.en, en: name.en + suffix.en } : { 'zh-CN': name['zh-CN'] + suffix['zh-CN'], en: name.en + suffix.en };
  // The gate rule's name holds at most 100 characters.
  return bothLangs(named).slice(0, 100);
}

/** Gate type id of a ticket sold with an early/night entry. */
export function gateTypeId(typeId: string, entry?: EntryKind): string {
  return entry === undefined ? typeId : `${typeId}@${entry}`;
}

/**
 * The ticket types the gates need: each catalogue type as is, plus an "@early"/"@night" variant
 * for every entry the pricing rules offer it. A discounted early/night ticket carries the
 * variant's id, so the gate admits it only in the window that was paid for. Each is parsed with
 * TicketTypeSchema, so the gates receive exactly what they validate.
 */
export function gateTicketTypes(catalogue: Catalogue): TicketType[] {
  const out: TicketType[] = [];
  for (const t of catalogue.ticketTypes) {
    out.push(TicketTypeSchema.parse(gateRule(t)));
    for (const kind of ['early', 'night'] as const) {
      const offer = entryOffer(catalogue, t, kind);
      if (!offer) continue;
      out.push(
        TicketTypeSchema.parse({
          ...gateRule(t),
          id: gateTypeId(t.id, kind),
          name: gateName(t.name, kind),
          entryWindow: offer.window,
        }),
      );
    }
  }
  return out;
}

/* ---------- free rebooking ---------- */

/** The instant a local date and time of day ("HH:MM") happens in a zone (two passes settle a DST change). */
export function localInstant(date: string, time: string, tz: string): Date {
  const wall = Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10))) + minutesOfDay(time) * 60_000;
  let t = wall;
  for (let i = 0; i < 2; i++) {
    const l = localClock(tz, t);
    const seen = Date.UTC(Number(l.date.slice(0, 4)), Number(l.date.slice(5, 7)) - 1, Number(l.date.slice(8, 10))) + l.secondOfDay * 1000;
    t += wall - seen;
  }
  return new Date(t);
}

/**
 * Until when an order of a free-rebooking type may still be rebooked (its `rebooking` rule):
 * N hours before its slot starts, or before the visit day opens (`opensAt`, else the type's
 * entry window start, else 00:00) when it has no slot. Undefined: the type has no such rule
 * and is rebooked as before (until a ticket enters).
 */
export function rebookDeadline(catalogue: Pick<Catalogue, 'slots' | 'timeZone'>, type: Pick<CatalogueTicketType, 'rebooking' | 'entryWindow'>, visitDate: string, slotId: string): Date | undefined {
  const rule = type.rebooking;
  if (!rule) return undefined;
  const slot = catalogue.slots.find((s) => s.id === slotId);
  const start = slot?.start ?? rule.opensAt ?? type.entryWindow?.from ?? '00:00';
  return new Date(localInstant(visitDate, start, catalogue.timeZone).getTime() - rule.freeUntilHoursBefore * 3_600_000);
}

/* ---------- API keys ---------- */

/** SHA-256 (lowercase hex) of a text, as a channel's apiKeySha256 holds it. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
