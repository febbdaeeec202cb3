import { topics } from '@stile/config';
import type { Logger } from '../../core/log.js';
import type { Publisher } from '../../core/mqtt/publisher.js';
import type { SiteKeys } from '../../core/sites.js';
import type { EntriesReceipt } from './entries.js';

/**
 * Tells a gate its entries are committed: a receipt on …/entries/ack, signed (only the cloud
 * may empty a gate's outbox). Not awaited: if it is lost, the gate sends the entries again
 * and gets the receipt of the duplicates.
 */
export function receiptPublisher(deps: { mqtt: Publisher; keys: SiteKeys; log: Logger }): (site: string, gate: string, r: EntriesReceipt) => void {
  return (site, gate, r) => {
    const ack = deps.keys.sign(site, { v: 1 as const, site, gate, ...r });
    deps.mqtt
      .publish(topics.entriesAck(site, gate), JSON.stringify(ack), { qos: 1 })
      .catch((err: Error) => deps.log.warn({ site, gate, err: err.message }, 'entries receipt not published; the gate will send again'));
  };
}
