import type { Clock } from '../../core/clock.js';
import { CloudError } from '../../core/errors.js';
import type { LocalText } from '../../core/i18n.js';
import type { Logger } from '../../core/log.js';
import { maskPhone, type SmsSender, type SmsSendResult } from '../../core/notify/sms.js';
import type { BookingLimits } from './limits.js';
import type { BookingRepository } from './repository.js';
import { newCode, sameHash, type SiteSecrets } from './secrets.js';
import type { Sessions } from './sessions.js';
import { admit, type ThrottleRule, type ThrottleWindow } from './throttle.js';
import type { BookingCodesTable } from '../../core/db/schema.js';

const HOUR = 3_600_000;

/** What a code request took, to give back if the text never went out. */
interface Taken {
  windows: { key: string; before: ThrottleWindow | undefined; after: ThrottleWindow }[];
  earlier: BookingCodesTable | undefined;
}
const DAY = 24 * HOUR;

export interface SmsLoginDeps {
  repo: BookingRepository;
  sessions: Sessions;
  sms: SmsSender;
  clock: Clock;
  log: Logger;
  limits: BookingLimits;
}

/** The site a code is asked for: its id, its name for the text, its secrets. */
export interface LoginSite {
  id: string;
  name: LocalText;
  secrets: SiteSecrets;
}

/** The text the log provider writes; real providers fill the site's `code` template with `vars.code` instead. */
function codeText(site: LoginSite, code: string, lang: 'zh-CN' | 'en', minutes: number): string {
  return lang === 'en'
    ? `[${site.name.en}] Your verification code is ${code}, valid for ${minutes} minutes. Do not share it.`
    : `【${site.name['zh-CN']}】您的验证码为${code}，${minutes}分钟内有效，请勿泄露。`;
}

/**
 * Login by phone and SMS code. A code is 6 random digits, stored only as a keyed hash bound to
 * the phone, for 5 minutes and 5 wrong tries, and used once. Codes are throttled per phone
 * (one per 60 s, 10 per day) and per client address (30 per hour), counted in the store so
 * the limits hold across restarts and instances. Logs name the phone masked, never the code.
 */
export class SmsLogin {
  private readonly phoneRule: ThrottleRule;
  private readonly addressRule: ThrottleRule;

  constructor(private readonly d: SmsLoginDeps) {
    this.phoneRule = { max: d.limits.codesPerPhonePerDay, windowMs: DAY, minGapMs: d.limits.resendAfterMs };
    this.addressRule = { max: d.limits.codesPerAddressPerHour, windowMs: HOUR, minGapMs: 0 };
  }

  /** Send a new code to the phone (it replaces an earlier one), or refuse with sms_code_throttled. */
  async requestCode(site: LoginSite, phone: string, lang: 'zh-CN' | 'en', address: string): Promise<{ resendAfterSec: number; expiresInSec: number }> {
    const { repo, limits } = this.d;
    const now = this.d.clock().getTime();
    const phoneHash = site.secrets.phoneHash(phone);
    const phoneKey = `phone:${site.id}:${phoneHash}`;
    const addressKey = `addr:${site.id}:${site.secrets.addressHash(address)}`;
    const code = newCode();
    const codeRow: BookingCodesTable = {
      site: site.id,
      phone_hash: phoneHash,
      code_hash: site.secrets.codeHash(phoneHash, code),
      created_at: new Date(now).toISOString(),
      expires_at: new Date(now + limits.codeTtlMs).toISOString(),
      wrong_tries: 0,
    };
    let taken: Taken | undefined;
    const refused = await repo.transaction(async (trx) => {
      const address = await repo.lockWindow(trx, addressKey);
      const byAddress = admit(address, now, this.addressRule);
      if (!byAddress.ok) return { by: 'address' as const, ...byAddress };
      const phoneWindow = await repo.lockWindow(trx, phoneKey);
      const byPhone = admit(phoneWindow, now, this.phoneRule);
      if (!byPhone.ok) return { by: 'phone' as const, ...byPhone };
      const earlier = await repo.lockCode(trx, site.id, phoneHash);
      await repo.saveWindow(trx, addressKey, byAddress.next);
      await repo.saveWindow(trx, phoneKey, byPhone.next);
      await repo.putCode(trx, codeRow);
      taken = { windows: [{ key: addressKey, before: address, after: byAddress.next }, { key: phoneKey, before: phoneWindow, after: byPhone.next }], earlier };
      return undefined;
    });
    if (refused) {
      this.d.log.warn({ site: site.id, phone: maskPhone(phone), by: refused.by, limit: refused.limit, retryAfterSec: refused.retryAfterSec }, 'SMS code refused: throttled');
      const why =
        refused.by === 'address' ? 'too many codes from this network in the last hour' : refused.limit === 'gap' ? `one code per ${limits.resendAfterMs / 1000} s for a phone` : `at most ${limits.codesPerPhonePerDay} codes a day for a phone`;
      throw new CloudError('sms_code_throttled', `${why}: try again in ${refused.retryAfterSec} s`, { retryAfterSec: refused.retryAfterSec });
    }
    const minutes = Math.round(limits.codeTtlMs / 60_000);
    let result: SmsSendResult | void = undefined;
    try {
      result = await this.d.sms.send({ to: phone, site: site.id, template: 'code', vars: { code }, lang, orderId: '', text: codeText(site, code, lang, minutes) });
    } catch (err) {
      // The port does not throw for a failed text; should it, the visitor asks again after the minute.
      this.d.log.warn({ err, site: site.id, phone: maskPhone(phone) }, 'SMS code not handed to the SMS sender');
    }
    if (result && !result.accepted) {
      // Nothing went out: the visitor's quota and earlier code are as they were.
      await this.undo(site.id, phoneHash, codeRow.code_hash, taken!);
      if (result.retryAfterSec !== undefined || result.reason === 'queue_full') {
        const retryAfterSec = Math.max(1, result.retryAfterSec ?? 60);
        this.d.log.warn({ site: site.id, phone: maskPhone(phone), by: 'sms', reason: result.reason, retryAfterSec }, 'SMS code refused: the SMS sender throttled the phone');
        throw new CloudError('sms_code_throttled', `a text went to this phone moments ago (${result.reason ?? 'throttled'}): try again in ${retryAfterSec} s`, { retryAfterSec });
      }
      this.d.log.error({ site: site.id, phone: maskPhone(phone), reason: result.reason }, 'SMS code not sent: the SMS sender refused it');
    }
    this.d.log.info({ site: site.id, phone: maskPhone(phone) }, 'SMS login code sent');
    return { resendAfterSec: Math.ceil(limits.resendAfterMs / 1000), expiresInSec: Math.floor(limits.codeTtlMs / 1000) };
  }

  /** Give back what a code that never went out took: the windows (unless another request moved them since) and the earlier code. */
  private async undo(site: string, phoneHash: string, codeHash: string, taken: Taken): Promise<void> {
    const { repo } = this.d;
    const same = (a: ThrottleWindow | undefined, b: ThrottleWindow): boolean => a !== undefined && a.count === b.count && a.lastAt === b.lastAt && a.windowStart === b.windowStart;
    await repo.transaction(async (trx) => {
      for (const w of taken.windows) {
        if (same(await repo.lockWindow(trx, w.key), w.after)) await repo.saveWindow(trx, w.key, w.before ?? { windowStart: 0, count: 0, lastAt: 0 });
      }
      const now = await repo.lockCode(trx, site, phoneHash);
      if (now?.code_hash !== codeHash) return;
      if (taken.earlier) {
        await repo.putCode(trx, taken.earlier);
        await repo.setWrongTries(trx, site, phoneHash, Number(taken.earlier.wrong_tries));
      } else await repo.deleteCode(trx, site, phoneHash);
    });
  }

  /** Phone + code → a session; the code is used up. Wrong codes count against it even though the answer is a refusal. */
  async login(site: LoginSite, phone: string, code: string): Promise<{ token: string; phoneMasked: string; expiresAt: string }> {
    const { repo, limits } = this.d;
    const now = this.d.clock().getTime();
    const phoneHash = site.secrets.phoneHash(phone);
    // The refusals are returned, not thrown: a wrong try must commit its count.
    const r = await repo.transaction(async (trx) => {
      const row = await repo.lockCode(trx, site.id, phoneHash);
      if (!row) return { refused: 'none' as const };
      if (Date.parse(row.expires_at) <= now) {
        await repo.deleteCode(trx, site.id, phoneHash);
        return { refused: 'expired' as const };
      }
      const tries = Number(row.wrong_tries);
      if (tries >= limits.maxWrongTries) return { refused: 'dead' as const };
      if (!sameHash(row.code_hash, site.secrets.codeHash(phoneHash, code))) {
        await repo.setWrongTries(trx, site.id, phoneHash, tries + 1);
        return { refused: 'wrong' as const, attemptsLeft: limits.maxWrongTries - tries - 1 };
      }
      await repo.deleteCode(trx, site.id, phoneHash);
      return { session: await this.d.sessions.create(trx, site.id, phone, site.secrets) };
    });
    const masked = maskPhone(phone);
    if ('session' in r && r.session) {
      this.d.log.info({ site: site.id, phone: masked }, 'booking session started');
      return r.session;
    }
    this.d.log.warn({ site: site.id, phone: masked, refused: r.refused }, 'SMS code refused');
    if (r.refused === 'wrong') {
      const dead = r.attemptsLeft === 0 ? ' The code is dead now: ask for a new one.' : '';
      throw new CloudError('sms_code_wrong', `not the code sent to this phone; ${r.attemptsLeft} tries left.${dead}`, { attemptsLeft: r.attemptsLeft });
    }
    const why = { none: 'no code was sent to this phone, or it was used', expired: 'the code expired', dead: `the code took ${limits.maxWrongTries} wrong tries and is dead` }[r.refused];
    throw new CloudError('sms_code_expired', `${why}: ask for a new code`);
  }
}
