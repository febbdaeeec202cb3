import { randomBytes } from 'node:crypto';
import { addDays, localDate, localTime } from '@stile/config';
import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../core/log.js';
import type { SmsSender } from '../../core/notify/sms.js';
import type { VisitorDirectory } from '../../core/ports.js';
import type { CouponRule, CouponTemplate, MarketingConfig } from '../../core/site-config/marketing.js';
import type { SiteRegistry } from '../../core/sites.js';
import { couponText, langOf, welcomeText } from './messages.js';
import type { MarketingRepository, NewCoupon } from './repository.js';
import { membershipDue, nearEnough, nthVisitPeriod, ticketOnlyDue, ticketOnlyVisitors, weekendOffer } from './rules.js';
import { newCouponCode, termsOfTemplate, windowOf } from './terms.js';
import { FileWeatherProvider, type WeatherProvider } from './weather.js';

export interface EngineDeps {
  repo: MarketingRepository;
  sites: Pick<SiteRegistry, 'ids' | 'config' | 'site'>;
  clock: Clock;
  log: Logger;
  visitors: VisitorDirectory;
  sms: SmsSender;
  /** Overrides cloud.yaml marketing.weather.file (a real forecast service). */
  weather?: WeatherProvider;
}

/** What one run did. */
export interface RunResult {
  issued: number;
  members: number;
  messages: number;
}

/** Issued by a rule in one run: coupons by visitor, to be told. */
interface Issued {
  rule: CouponRule;
  template: CouponTemplate;
  validTo: string;
  coupons: { idHash: string; code: string }[];
}

const ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
function newMemberCode(): string {
  let s = 'M';
  for (const b of randomBytes(10)) s += ALPHABET[b % ALPHABET.length];
  return s;
}

/**
 * The rule engine: every minute, off the request path, each site's issuing rules and its
 * membership rule are evaluated against what the visitors and pos modules recorded. Idempotent
 * through coupon_grants (and member_code set only where it is null), so any number of
 * instances may run it; a message goes out at most once per coupon (notified_at claimed first).
 */
export class MarketingEngine {
  private readonly files = new Map<string, FileWeatherProvider>();
  /** Weekend offers: visitors found too far (or of unknown distance) for the weekend being offered. */
  private readonly far = new Map<string, Set<string>>();

  constructor(private readonly d: EngineDeps) {}

  async runOnce(): Promise<RunResult> {
    const total: RunResult = { issued: 0, members: 0, messages: 0 };
    for (const site of this.d.sites.ids) {
      const cfg = this.d.sites.config(site)?.marketing;
      if (!cfg || !this.d.sites.site(site)) continue;
      try {
        const r = await this.runSite(site, cfg);
        total.issued += r.issued;
        total.members += r.members;
        total.messages += r.messages;
      } catch (err) {
        this.d.log.warn({ err, site }, 'marketing rules failed for the site; next try in a minute');
      }
    }
    return total;
  }

  async runSite(site: string, cfg: MarketingConfig): Promise<RunResult> {
    const sales = this.d.sites.site(site)!;
    const park = sales.catalogue.name ?? { 'zh-CN': site, en: site };
    const tz = sales.catalogue.timeZone;
    const now = this.d.clock();
    const today = localDate(now, tz);
    const time = localTime(now, tz);
    const result: RunResult = { issued: 0, members: 0, messages: 0 };
    for (const rule of cfg.rules) {
      if (!rule.enabled) continue;
      const template = cfg.coupons.find((t) => t.id === rule.template)!;
      const issued = await this.evaluate(site, cfg, rule, template, today, time);
      if (!issued || issued.coupons.length === 0) continue;
      result.issued += issued.coupons.length;
      this.d.log.info({ site, rule: rule.id, kind: rule.kind, coupons: issued.coupons.length }, 'coupons issued by rule');
      result.messages += await this.tell(site, cfg, park, issued, now);
    }
    if (cfg.membership) {
      const m = await this.membership(site, cfg, cfg.membership.afterVisits, today, park, now);
      result.members += m.members;
      result.messages += m.messages;
    }
    return result;
  }

  private async evaluate(site: string, cfg: MarketingConfig, rule: CouponRule, template: CouponTemplate, today: string, time: string): Promise<Issued | undefined> {
    const { repo } = this.d;
    switch (rule.kind) {
      case 'ticketOnly': {
        if (!ticketOnlyDue(rule, time)) return undefined;
        const hashes = ticketOnlyVisitors(await repo.admittedOn(site, [today]), await repo.withPosLine(site, today));
        return this.grantAll(site, rule, template, today, hashes, windowOf(template, today));
      }
      case 'nthVisit': {
        // Visitors let in today or yesterday (a late entry batch): their count is what changed.
        const recent = await repo.admittedOn(site, [addDays(today, -1), today]);
        const counts = await repo.admittedVisits(site, recent, today);
        const byPeriod = new Map<string, string[]>();
        for (const [h, n] of counts) {
          const period = nthVisitPeriod(rule, n);
          if (period) byPeriod.set(period, [...(byPeriod.get(period) ?? []), h]);
        }
        const out: Issued = { rule, template, validTo: windowOf(template, today).to, coupons: [] };
        for (const [period, hashes] of byPeriod) {
          const part = await this.grantAll(site, rule, template, period, hashes, windowOf(template, today));
          out.coupons.push(...part.coupons);
        }
        return out;
      }
      case 'offSeasonWeekendWeather': {
        const weather = this.weatherOf(cfg);
        if (!weather || time < rule.at) return undefined;
        const saturday = addDays(today, rule.daysBefore);
        const offer = weekendOffer(rule, today, time, await weather.forecast(site, [saturday, addDays(saturday, 1)]));
        if (!offer) return undefined;
        const consenting = await repo.consenting(site, rule.visitedWithinDays ? addDays(today, -rule.visitedWithinDays) : undefined);
        // Distances only for those without this weekend's offer who were not found too far
        // already (the rule runs every minute of the day once it is due).
        const key = `${site}\0${rule.id}\0${offer.saturday}`;
        const far = this.far.get(key) ?? new Set<string>();
        if (!this.far.has(key)) {
          for (const k of this.far.keys()) if (k.startsWith(`${site}\0${rule.id}\0`)) this.far.delete(k);
          this.far.set(key, far);
        }
        const already = await repo.granted(site, rule.id, offer.saturday, consenting);
        const near: string[] = [];
        for (const h of consenting) {
          if (already.has(h) || far.has(h)) continue;
          if (nearEnough(rule, await this.d.visitors.homeDistanceKm(site, h))) near.push(h);
          else far.add(h);
        }
        return this.grantAll(site, rule, template, offer.saturday, near, { from: offer.saturday, to: offer.sunday });
      }
    }
  }

  private weatherOf(cfg: MarketingConfig): WeatherProvider | undefined {
    if (this.d.weather) return this.d.weather;
    if (!cfg.weather) return undefined;
    let p = this.files.get(cfg.weather.file);
    if (!p) this.files.set(cfg.weather.file, (p = new FileWeatherProvider(cfg.weather.file)));
    return p;
  }

  /** One coupon per visitor for the rule and period (those granted before are skipped). */
  private async grantAll(site: string, rule: CouponRule, template: CouponTemplate, period: string, hashes: readonly string[], window: { from: string; to: string }): Promise<Issued> {
    const out: Issued = { rule, template, validTo: window.to, coupons: [] };
    if (hashes.length === 0) return out;
    const already = await this.d.repo.granted(site, rule.id, period, hashes);
    const at = this.d.clock().toISOString();
    for (const idHash of hashes) {
      if (already.has(idHash)) continue;
      const coupon: NewCoupon = { site, code: newCouponCode(), rule_id: rule.id, id_hash: idHash, ...termsOfTemplate(template), valid_from: window.from, valid_to: window.to, issued_at: at };
      if (await this.d.repo.grant(site, rule.id, idHash, period, coupon)) out.coupons.push({ idHash, code: coupon.code });
    }
    return out;
  }

  /** Text the coupons to reachable visitors, one message per phone (a family shares one). */
  private async tell(site: string, cfg: MarketingConfig, park: { 'zh-CN': string; en?: string }, issued: Issued, now: Date): Promise<number> {
    const byPhone = new Map<string, { lang: string | null; idHash: string; codes: string[] }>();
    for (const c of issued.coupons) {
      const to = await this.d.visitors.reachable(site, c.idHash);
      if (!to) continue; // no consent, opted out, or no kept phone: the coupon still works, nobody is texted
      const entry = byPhone.get(to.phone) ?? { lang: to.lang, idHash: c.idHash, codes: [] };
      entry.codes.push(c.code);
      byPhone.set(to.phone, entry);
    }
    let sent = 0;
    for (const [phone, m] of byPhone) {
      const claimed: string[] = [];
      for (const code of m.codes) if (await this.d.repo.claimNotice(site, code, now.toISOString())) claimed.push(code);
      if (claimed.length === 0) continue;
      const lang = langOf(m.lang);
      const link = (cfg.publicUrl ?? '').replace(/\/$/, '') + this.d.visitors.optOutLink(site, m.idHash);
      const text = couponText(lang === 'en' ? (park.en ?? park['zh-CN']) : park['zh-CN'], issued.template, claimed, issued.validTo, link, lang);
      const r = await this.d.sms.send({ to: phone, text, orderId: '', site, template: 'coupon', lang, vars: { coupon: claimed.join(','), validTo: issued.validTo, optOut: link } });
      const accepted = !r || r.accepted;
      if (accepted) sent++;
      // What was sent, never to whom: the phone stays out of the log.
      this.d.log.info({ event: 'marketing_sms', site, rule: issued.rule.id, template: issued.template.id, coupons: claimed.length, lang, chars: text.length, accepted, ...(r && !r.accepted ? { reason: r.reason } : {}) }, 'coupon message sent');
    }
    return sent;
  }

  /** Automatic membership after N admitted visits, with a welcome to those who may be texted. */
  private async membership(site: string, cfg: MarketingConfig, afterVisits: number, today: string, park: { 'zh-CN': string; en?: string }, now: Date): Promise<{ members: number; messages: number }> {
    const { repo } = this.d;
    const recent = await repo.admittedOn(site, [addDays(today, -1), today]);
    if (recent.length === 0) return { members: 0, messages: 0 };
    const codes = await repo.memberCodes(site, recent);
    const candidates = recent.filter((h) => codes.get(h) === null);
    const counts = await repo.admittedVisits(site, candidates, today);
    let members = 0;
    let messages = 0;
    for (const h of candidates) {
      const visits = counts.get(h) ?? 0;
      if (!membershipDue(afterVisits, visits, null)) continue;
      const code = newMemberCode();
      if (!(await repo.makeMember(site, h, code, today, now.toISOString()))) continue;
      members++;
      this.d.log.info({ event: 'member_joined', site, visits }, 'visitor became a member');
      const to = await this.d.visitors.reachable(site, h);
      if (!to) continue;
      const lang = langOf(to.lang);
      const link = (cfg.publicUrl ?? '').replace(/\/$/, '') + this.d.visitors.optOutLink(site, h);
      const text = welcomeText(lang === 'en' ? (park.en ?? park['zh-CN']) : park['zh-CN'], code, visits, link, lang);
      const r = await this.d.sms.send({ to: to.phone, text, orderId: '', site, template: 'member', lang, vars: { member: code, visits: String(visits), optOut: link } });
      const accepted = !r || r.accepted;
      if (accepted) messages++;
      this.d.log.info({ event: 'marketing_sms', site, template: 'member', lang, chars: text.length, accepted }, 'membership welcome sent');
    }
    return { members, messages };
  }
}
