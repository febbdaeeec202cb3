import { daysAround as around, localDate, localDateHour } from '@stile/config';
import type { TodayLoad } from '../../core/ports.js';
import type { SalesSite } from '../../core/sites.js';
import type { CapacityRepository, LoadRows } from './repository.js';

/**
 * Today's load for the capacity level: sold for today plus those admitted today on tickets
 * not sold for today. A visitor with a ticket for today counts once, entered or not.
 */
export async function todayLoad(repo: Pick<CapacityRepository, 'loadRows'>, site: SalesSite, now: Date): Promise<TodayLoad> {
  const date = localDate(now, site.catalogue.timeZone);
  return countLoad(date, site.catalogue.timeZone, await repo.loadRows(site.id, date, around(date)));
}

/** The load of local `date` from its rows (entries outside the date are skipped). */
export function countLoad(date: string, timeZone: string, rows: LoadRows): TodayLoad {
  const soldIds = new Set(rows.soldTicketIds);
  const byHour = Array.from({ length: 24 }, (_, hour) => ({ hour, persons: 0 }));
  let admitted = 0;
  let walkIns = 0;
  for (const e of rows.admissions) {
    const local = localDateHour(e.at, timeZone);
    if (!local || local.date !== date) continue;
    admitted += e.persons;
    byHour[local.hour]!.persons += e.persons;
    if (!soldIds.has(e.ticketId)) walkIns += e.persons;
  }
  return { date, admitted, soldToday: rows.sold, load: rows.sold + walkIns, entriesByHour: byHour };
}
