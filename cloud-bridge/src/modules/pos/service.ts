import type { Clock } from '../../core/clock.js';
import { isCloudError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { CouponRedeemer, VisitLink, VisitorDirectory } from '../../core/ports.js';
import { checkLine, maskPhone, sameLine, type PosLine } from './lines.js';
import type { PosRepository, StoredLine } from './repository.js';

/** One line as it came in: a JSON object or a CSV row (with its line number, or why it is no line). */
export interface LineInput {
  raw: unknown;
  csvLine?: number;
  problem?: string;
}

export type LineStatus = 'accepted' | 'duplicate' | 'refused';

/** The answer for one line. */
export interface LineResult {
  lineId: string | null;
  status: LineStatus;
  /** refused: unknown_visit, invalid_line, line_conflict, or the coupon's reason (coupon_*). */
  reason?: string;
  message?: string;
  /** CSV: the line of the file (the header is line 1). */
  csvLine?: number;
  /** accepted and duplicate: the park-local day, how the visit was found, the coupon's discount. */
  visitDate?: string;
  link?: string;
  discountFen?: number;
}

export interface Submission {
  accepted: number;
  duplicate: number;
  refused: number;
  lines: LineResult[];
}

export interface PosServiceDeps {
  repository: PosRepository;
  visitors: VisitorDirectory;
  coupons: CouponRedeemer;
  clock: Clock;
  log: Logger;
}

/** Thrown inside a line's transaction to roll it back with a reason (a coupon refused). */
class Refusal extends Error {
  constructor(readonly result: LineResult) {
    super(result.reason);
  }
}

/** How the line named its visitor, for a message (never the full phone). */
function named(line: PosLine): string {
  if (line.memberCode !== undefined) return `member code ${line.memberCode}`;
  if (line.ticketCode !== undefined) return 'ticket code';
  return `phone ${maskPhone(line.phone ?? '')}`;
}

/**
 * Secondary spending: each line linked to its visit, stored once per (source, lineId), the
 * spend added to the visitor's profile and a coupon redeemed in the same transaction, the
 * visitor's tags computed again after the commit. The HTTP routes and `stile-cloud pos
 * import` both come here.
 */
export class PosService {
  constructor(private readonly d: PosServiceDeps) {}

  async submit(site: string, source: string, timeZone: string, inputs: readonly LineInput[]): Promise<Submission> {
    const now = this.d.clock();
    const lines: LineResult[] = [];
    const touched = new Set<string>();
    for (const input of inputs) {
      const r = await this.one(site, source, timeZone, input, now, touched);
      lines.push(input.csvLine !== undefined ? { ...r, csvLine: input.csvLine } : r);
    }
    // After the commits: tags follow the new spend (a failure leaves them one line behind, not the line unstored).
    for (const idHash of touched) {
      try {
        await this.d.visitors.retag(site, idHash);
      } catch (err) {
        this.d.log.warn({ err, site, event: 'retag_failed' }, 'tags not recomputed after POS lines');
      }
    }
    const count = (s: LineStatus) => lines.filter((l) => l.status === s).length;
    const out = { accepted: count('accepted'), duplicate: count('duplicate'), refused: count('refused'), lines };
    const reasons: Record<string, number> = {};
    for (const l of lines) if (l.reason) reasons[l.reason] = (reasons[l.reason] ?? 0) + 1;
    this.d.log.info({ site, source, accepted: out.accepted, duplicate: out.duplicate, refused: out.refused, reasons }, 'pos lines');
    return out;
  }

  private async one(site: string, source: string, timeZone: string, input: LineInput, now: Date, touched: Set<string>): Promise<LineResult> {
    if (input.problem !== undefined) {
      const id = (input.raw as { lineId?: unknown } | null)?.lineId;
      return { lineId: typeof id === 'string' ? id : null, status: 'refused', reason: 'invalid_line', message: input.problem };
    }
    const checked = checkLine(input.raw, timeZone, now);
    if (!checked.ok) return { lineId: checked.lineId, status: 'refused', reason: 'invalid_line', message: checked.problems.join('; ') };
    const line = checked.line;
    const by = { ...(line.memberCode !== undefined ? { memberCode: line.memberCode } : {}), ...(line.ticketCode !== undefined ? { ticketCode: line.ticketCode } : {}), ...(line.phone !== undefined ? { phone: line.phone } : {}) };
    const link = await this.d.visitors.findVisit(site, by, line.visitDate);
    const repo = this.d.repository;
    if (!link) {
      // A retry of a stored line whose visitor is gone meanwhile is still that line.
      const stored = await repo.getLine(repo.store.db, site, source, line.lineId);
      if (stored) return this.again(stored, line, undefined);
      return { lineId: line.lineId, status: 'refused', reason: 'unknown_visit', message: `no visit on ${line.visitDate} for the ${named(line)}` };
    }
    try {
      const result = await repo.transaction(async (trx) => {
        const claimed = await repo.insertLine(trx, {
          site,
          source,
          line_id: line.lineId,
          at: line.at,
          visit_date: line.visitDate,
          amount_fen: line.amountFen,
          category: line.category,
          item: line.item,
          id_hash: link.idHash,
          order_id: link.orderId,
          link: link.via,
          coupon_code: line.couponCode,
          received_at: now.toISOString(),
        });
        if (!claimed) return this.again((await repo.getLine(trx, site, source, line.lineId))!, line, link);
        let discountFen = 0;
        if (line.couponCode !== null) {
          try {
            const r = await this.d.coupons.redeemAtPos(trx, site, line.couponCode, { idHash: link.idHash, amountFen: line.amountFen, category: line.category, source, ref: line.lineId, at: new Date(line.at) });
            // Never more off than the line's amount: the spend on the profile stays ≥ 0.
            discountFen = Math.max(0, Math.min(line.amountFen, Math.round(r.discountFen)));
          } catch (err) {
            if (!isCloudError(err)) throw err;
            throw new Refusal({ lineId: line.lineId, status: 'refused', reason: err.code, message: err.message });
          }
          if (discountFen > 0) await repo.setDiscount(trx, site, source, line.lineId, discountFen);
        }
        await this.d.visitors.addSpend(trx, site, link.idHash, line.amountFen - discountFen);
        return { lineId: line.lineId, status: 'accepted', visitDate: line.visitDate, link: link.via, discountFen } satisfies LineResult;
      });
      if (result.status === 'accepted') touched.add(link.idHash);
      return result;
    } catch (err) {
      if (err instanceof Refusal) return err.result;
      throw err;
    }
  }

  /** A line id already stored: the same line again (duplicate, nothing counted) or other content (line_conflict). */
  private again(stored: StoredLine, line: PosLine, link: VisitLink | undefined): LineResult {
    if (sameLine(stored, line, link)) return { lineId: line.lineId, status: 'duplicate', visitDate: stored.visitDate, link: stored.link, discountFen: stored.discountFen };
    return { lineId: line.lineId, status: 'refused', reason: 'line_conflict', message: `line ${line.lineId} is stored with other content (received ${stored.receivedAt}); lines are never changed: send a new id` };
  }

  /** The source's own lines of a park-local day, for the POS to reconcile. */
  linesOfDay(site: string, source: string, date: string): Promise<StoredLine[]> {
    return this.d.repository.linesOfDay(site, source, date);
  }
}
