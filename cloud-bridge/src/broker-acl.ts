import { defaultClientId, kioskTopics, topics, type DeviceIdentity } from '@stile/config';

/** Who is on the broker: a registered device, or the cloud-bridge itself. */
export type BrokerIdentity = DeviceIdentity | { kind: 'cloud' };

/**
 * The embedded broker's ACL: the same rules as the Mosquitto example in
 * docs/mqtt-security.md. Pure, so every rule is a table test. Devices get exact topics
 * only — no wildcards — so a gate cannot read another gate's commands or receipts, or
 * every new ticket id of the park as it is sold.
 */
export function mayPublish(who: BrokerIdentity, topic: string): boolean {
  if (who.kind === 'cloud') return topic.startsWith('stile/');
  if (who.kind === 'gate') {
    return topic === topics.entries(who.site, who.id) || topic === topics.status(who.site, who.id) || topic === topics.cmdAck(who.site, who.id);
  }
  // A kiosk sends its own records only (a stolen kiosk cannot sell in another's name).
  if (who.kind === 'kiosk') return topic === kioskTopics.sales(who.site, who.id);
  return false; // screens and announcers only listen
}

export function maySubscribe(who: BrokerIdentity, filter: string): boolean {
  if (who.kind === 'cloud') return filter.startsWith('stile/');
  const s = who.site;
  // Every device of the site, screens and PA announcers included, reads the capacity and announcements; nothing else of theirs.
  if (filter === topics.capacity(s) || filter === topics.announce(s)) return true;
  if (who.kind === 'kiosk') return filter === kioskTopics.salesAck(s, who.id) || filter === kioskTopics.pack(s, who.id);
  if (who.kind !== 'gate') return false;
  return (
    filter === topics.whitelistDelta(s) ||
    filter === topics.whitelistHead(s) ||
    filter === topics.cmd(s, who.id) ||
    filter === topics.entriesAck(s, who.id)
  );
}

/**
 * MQTT client ids a device may use: its own id (the gate default is `stile-<site>-<gate>`) or
 * that id + "." + a suffix (a technician's doctor or provisioning check), so one device cannot
 * take over another's persistent session by connecting with its id. The separator is a dot
 * because slugs cannot hold one: with a dash, gate `east-1` could use `stile-park-east-1-diag`,
 * the default id of gate `east-1-diag`.
 */
export function clientIdAllowed(who: BrokerIdentity, clientId: string): boolean {
  if (who.kind === 'cloud') return true;
  const prefix = defaultClientId(who);
  return clientId === prefix || clientId.startsWith(`${prefix}.`);
}
