import type { Channel } from '../../core/catalogue.js';
import type { Db } from '../../core/db/store.js';
import type { Reply } from '../../core/http/refusals.js';
import type { CreateOrderBody } from './schemas.js';
import type { Logger } from '../../core/log.js';
import type { SalesSite } from '../../core/sites.js';
import { noEffects, type IdempotentWrites, type WriteEffects } from './idempotent-writes.js';
import type { SalesRepository } from './repository.js';

/** Creates one order inside the caller's transaction (orders.ts). */
export type OrderWork = (trx: Db, site: SalesSite, channel: Channel, body: CreateOrderBody, fx: WriteEffects) => Promise<Reply>;

interface OrderJob {
  site: SalesSite;
  channel: Channel;
  key: string;
  body: CreateOrderBody;
  resolve: (r: Reply) => void;
  reject: (err: unknown) => void;
}

interface Lane {
  queue: OrderJob[];
  flushing: boolean;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** A stable lane for a key (FNV-1a). */
function laneOf(key: string, lanes: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % lanes;
}

/**
 * Group commit of new orders: orders that arrive while one group commits wait for the next
 * group of their lane: one transaction and one durable commit for all of them, each order in
 * its own savepoint, so one order's refusal or error never touches another. An order's lane
 * follows its visit date, so two lanes never lock the same inventory rows.
 */
export class OrderLanes {
  /** Orders committed by group commit and the transactions they took (benchmarks, metrics). */
  readonly counts = { orders: 0, transactions: 0 };
  private readonly lanes: Lane[];
  private readonly maxGroup: number;

  constructor(
    private readonly repo: SalesRepository,
    private readonly writes: IdempotentWrites,
    private readonly work: OrderWork,
    private readonly log: Logger,
    opts: { lanes: number; maxGroup: number },
  ) {
    this.maxGroup = opts.maxGroup;
    this.lanes = Array.from({ length: opts.lanes }, () => ({ queue: [], flushing: false }));
  }

  /** The order's reply once its group committed (or it was tried alone). */
  submit(site: SalesSite, channel: Channel, key: string, body: CreateOrderBody): Promise<Reply> {
    const lane = this.lanes[this.lanes.length === 1 ? 0 : laneOf(`${site.id}\0${body.date}`, this.lanes.length)]!;
    return new Promise<Reply>((resolve, reject) => {
      lane.queue.push({ site, channel, key, body, resolve, reject });
      if (!lane.flushing) {
        lane.flushing = true;
        // After this turn's I/O: on SQLite a whole transaction runs without yielding to I/O
        // (better-sqlite3 is synchronous), so orders read in the same turn must be queued first.
        setImmediate(() => void this.flush(lane));
      }
    });
  }

  private async flush(lane: Lane): Promise<void> {
    lane.flushing = true;
    try {
      while (lane.queue.length > 0) {
        await new Promise((r) => setImmediate(r)); // let the orders that arrived meanwhile join
        // In (site, date, slot) order: groups of other instances then take the rows in the same order.
        const group = lane.queue.splice(0, this.maxGroup).sort((a, b) => cmp(a.site.id, b.site.id) || cmp(a.body.date, b.body.date) || cmp(a.body.slotId ?? '', b.body.slotId ?? ''));
        await this.commitGroup(group);
      }
    } finally {
      lane.flushing = false;
    }
  }

  private single(job: OrderJob): Promise<void> {
    return this.writes.run(job.site, job.channel, job.key, { op: 'order', body: job.body }, (trx, fx) => this.work(trx, job.site, job.channel, job.body, fx)).then(job.resolve, job.reject);
  }

  private async commitGroup(group: OrderJob[]): Promise<void> {
    this.counts.orders += group.length;
    this.counts.transactions += 1;
    if (group.length === 1) return this.single(group[0]!);
    let done: { job: OrderJob; reply: Reply; fx: WriteEffects }[] = [];
    let alone: OrderJob[] = [];
    try {
      await this.repo.transaction(async (trx) => {
        done = [];
        alone = [];
        for (const job of group) {
          const fx = noEffects();
          const savepoint = await this.repo.savepoint(trx, 'sales_group');
          try {
            const requestHash = this.writes.requestHash(job.site, { op: 'order', body: job.body });
            const reply = await this.writes.underKey(trx, job.site, job.channel, job.key, requestHash, (t, f) => this.work(t, job.site, job.channel, job.body, f), fx);
            await savepoint.release();
            done.push({ job, reply, fx });
          } catch (err) {
            // Not a refusal (those are answers): a deadlock, a lost connection, a bug. This
            // order is taken out of the group and tried again on its own below.
            this.log.warn({ err, site: job.site.id }, 'order failed inside a commit group; trying it alone');
            await savepoint.rollback();
            alone.push(job);
          }
        }
      });
    } catch (err) {
      // The group's commit failed: none of it is stored; every order is tried on its own.
      this.log.warn({ err, orders: group.length }, 'commit group failed; trying its orders one by one');
      done = [];
      alone = [...group];
    }
    for (const { job, reply, fx } of done) {
      job.resolve(reply);
      void this.writes.committed(job.site.id, reply, fx);
    }
    await Promise.all(alone.map((job) => this.single(job)));
  }
}
