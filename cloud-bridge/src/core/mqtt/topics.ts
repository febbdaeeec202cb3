/** Split `stile/{site}/gates/{gate}/{leaf…}`; null for anything else. */
export function parseGateTopic(topic: string): { site: string; gate: string; leaf: string } | null {
  const parts = topic.split('/');
  if (parts.length < 5 || parts[0] !== 'stile' || parts[2] !== 'gates') return null;
  const site = parts[1]!;
  const gate = parts[3]!;
  if (!site || !gate) return null;
  return { site, gate, leaf: parts.slice(4).join('/') };
}

/** Status and command acks go to every instance (retained status is not sent to shared subscriptions). */
export const ALL_STATUS = 'stile/+/gates/+/status';
export const ALL_CMD_ACKS = 'stile/+/gates/+/cmd/ack';
/** Without MQTT v5 (no shared subscriptions): one instance takes every gate's entries. */
export const ALL_ENTRIES = 'stile/+/gates/+/entries';
