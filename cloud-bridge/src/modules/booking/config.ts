import type { Catalogue } from '../../core/catalogue.js';

/**
 * Why `sales.bookingChannel` cannot be the booking page's channel, or undefined when it can:
 * a channel of the catalogue that sells online and takes the money through WeChat Pay / Alipay.
 */
export function bookingChannelProblem(catalogue: Pick<Catalogue, 'channels'>, channelId: string): string | undefined {
  const c = catalogue.channels.find((ch) => ch.id === channelId);
  if (!c) return `"${channelId}" is not a channel of the catalogue (its channels: ${catalogue.channels.map((ch) => ch.id).join(', ')})`;
  if (c.kind !== 'online') return `channel "${channelId}" is kind: ${c.kind}; the booking page sells online: give it kind: online, or name another channel`;
  if (c.payment !== 'provider') return `channel "${channelId}" is payment: ${c.payment}; the booking page takes the money through WeChat Pay / Alipay: give it payment: provider`;
  return undefined;
}
