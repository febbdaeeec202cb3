import type { Alerts } from '../../core/alerts.js';
import { CloudError } from '../../core/errors.js';
import { refusalReply, type Reply } from '../../core/http/refusals.js';
import type { ModuleContext } from '../../core/module.js';
import type { AuditEntry, StaffRepository } from './repository.js';

export type StaffContext = Pick<ModuleContext, 'sites' | 'events' | 'clock' | 'log'>;

/** Staff actions on a site: pausing and resuming sales channels, each audit-logged and alerted. */
export class Staff {
  constructor(
    private readonly ctx: StaffContext,
    private readonly repo: StaffRepository,
    private readonly alerts: Pick<Alerts, 'raise'>,
  ) {}

  /** Pause or resume a channel, with who and why in the audit log; staff are alerted. */
  async setChannelPaused(siteId: string, channelId: string, paused: boolean, actor: string, reason: string): Promise<Reply> {
    const site = this.ctx.sites.site(siteId);
    if (!site) return refusalReply(new CloudError('unknown_site', `no site ${siteId}`));
    if (!site.catalogue.channels.some((c) => c.id === channelId)) return refusalReply(new CloudError('unknown_channel', `site ${siteId} has no channel ${channelId}`));
    const at = this.ctx.clock().toISOString();
    await this.repo.setChannelPaused(siteId, channelId, paused, actor, reason, at);
    // Sales drop the pause state they keep, so availability shows it at once.
    this.ctx.events.emit('channel', { site: siteId, channel: channelId, paused });
    this.ctx.log.info({ site: siteId, channel: channelId, paused, actor, reason, audit: true }, paused ? 'channel paused' : 'channel resumed');
    this.ctx.events.emit('changed', { site: siteId });
    await this.alerts.raise({
      site: siteId,
      kind: paused ? 'channel_paused' : 'channel_resumed',
      message: paused
        ? { zh: `渠道 ${channelId} 已由 ${actor} 暂停：${reason}`, en: `Channel ${channelId} paused by ${actor}: ${reason}` }
        : { zh: `渠道 ${channelId} 已由 ${actor} 恢复：${reason}`, en: `Channel ${channelId} resumed by ${actor}: ${reason}` },
      at,
      details: { channel: channelId, by: actor, reason },
    });
    return { status: 200, body: { site: siteId, channel: channelId, paused, by: actor, reason, at } };
  }

  /** The site's staff actions, newest first. */
  auditLog(siteId: string, limit = 100): Promise<AuditEntry[]> {
    return this.repo.auditLog(siteId, limit);
  }
}
