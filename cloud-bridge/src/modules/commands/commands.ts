import { randomUUID } from 'node:crypto';
import { CommandAckSchema, topics, type CommandAck, type GateCommand } from '@stile/config';
import type { Clock } from '../../core/clock.js';
import { CloudError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { Metrics } from '../../core/metrics.js';
import type { Publisher } from '../../core/mqtt/publisher.js';
import type { SiteKeys } from '../../core/sites.js';
import { parseGateTopic } from '../../core/mqtt/topics.js';

export type GateAction = GateCommand['action'];

export interface CommandOptions {
  persons?: number;
  issuedBy: string;
  reason?: string;
  /** Default 5 minutes: the gate refuses the command after that. */
  ttlMs?: number;
}

const MAX_KEPT_ACKS = 10_000;

export interface CommandsOptions {
  keys: SiteKeys;
  /** The connection commands go out on. */
  mqtt: Publisher;
  metrics: Metrics;
  log: Logger;
  /** When a command is issued and until when the gate takes it. */
  clock: Clock;
}

interface Waiter {
  resolve: (ack: CommandAck) => void;
  reject: (err: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** Signed gate commands out (QoS 1 on …/cmd), their acks back (…/cmd/ack), matched by cmdId. */
export class Commands {
  private readonly sent = new Map<string, { site: string; gate: string }>();
  private readonly acks = new Map<string, CommandAck>();
  private readonly waiters = new Map<string, Waiter[]>();

  private readonly keys: SiteKeys;
  private readonly mqtt: Publisher;
  private readonly metrics: Metrics;
  private readonly log: Logger;
  private readonly clock: Clock;

  constructor(opts: CommandsOptions) {
    this.keys = opts.keys;
    this.mqtt = opts.mqtt;
    this.metrics = opts.metrics;
    this.log = opts.log;
    this.clock = opts.clock;
  }

  async sendCommand(site: string, gate: string, action: GateAction, opts: CommandOptions): Promise<GateCommand> {
    const now = this.clock().getTime();
    const cmd = this.keys.sign(site, {
      v: 1 as const,
      cmdId: randomUUID(),
      site,
      gate,
      action,
      ...(opts.persons !== undefined ? { persons: opts.persons } : {}),
      issuedBy: opts.issuedBy,
      ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
      at: new Date(now).toISOString(),
      expiresAt: new Date(now + (opts.ttlMs ?? 5 * 60_000)).toISOString(),
    }) as GateCommand;
    this.sent.set(cmd.cmdId, { site, gate });
    await this.mqtt.publish(topics.cmd(site, gate), JSON.stringify(cmd), { qos: 1 });
    this.metrics.commandsSent++;
    this.log.info({ site, gate, action, cmdId: cmd.cmdId, issuedBy: opts.issuedBy, reason: opts.reason }, 'gate command sent');
    return cmd;
  }

  /** The gate's ack for `cmdId` (at once if it already came); rejects after `timeoutMs`. */
  waitForAck(cmdId: string, timeoutMs = 30_000): Promise<CommandAck> {
    const have = this.acks.get(cmdId);
    if (have) return Promise.resolve(have);
    return new Promise<CommandAck>((resolve, reject) => {
      const timer = setTimeout(() => {
        const list = this.waiters.get(cmdId)?.filter((w) => w.timer !== timer) ?? [];
        if (list.length > 0) this.waiters.set(cmdId, list);
        else this.waiters.delete(cmdId);
        reject(new CloudError('no_ack', `no ack for command ${cmdId} within ${timeoutMs} ms`, { cmdId, timeoutMs }));
      }, timeoutMs);
      const list = this.waiters.get(cmdId) ?? [];
      list.push({ resolve, reject, timer });
      this.waiters.set(cmdId, list);
    });
  }

  ack(cmdId: string): CommandAck | undefined {
    return this.acks.get(cmdId);
  }

  handleAck(topic: string, payload: Buffer): void {
    const where = parseGateTopic(topic);
    if (!where || where.leaf !== 'cmd/ack') return;
    let parsed;
    try {
      parsed = CommandAckSchema.safeParse(JSON.parse(payload.toString('utf8')));
    } catch {
      this.metrics.drop('ack_bad_json');
      return;
    }
    if (!parsed.success) {
      this.metrics.drop('ack_schema');
      return;
    }
    const ack = parsed.data;
    const sent = this.sent.get(ack.cmdId);
    if (!sent) return; // another instance's command, or an old one
    if (sent.site !== where.site || sent.gate !== where.gate) {
      this.metrics.drop('ack_wrong_gate');
      this.log.warn({ topic, cmdId: ack.cmdId }, 'command ack from a gate the command was not sent to');
      return;
    }
    this.metrics.acksReceived++;
    this.sent.delete(ack.cmdId);
    this.acks.set(ack.cmdId, ack);
    // Bounded memory: keep the most recent acks only (Maps iterate in insertion order).
    for (const old of this.acks.keys()) {
      if (this.acks.size <= MAX_KEPT_ACKS) break;
      this.acks.delete(old);
    }
    this.log.info({ ...sent, cmdId: ack.cmdId, result: ack.result, detail: ack.detail }, 'gate command acknowledged');
    for (const w of this.waiters.get(ack.cmdId) ?? []) {
      clearTimeout(w.timer);
      w.resolve(ack);
    }
    this.waiters.delete(ack.cmdId);
  }

  close(): void {
    for (const [cmdId, list] of this.waiters) {
      for (const w of list) {
        clearTimeout(w.timer);
        w.reject(new CloudError('closed', `cloud-bridge closed before the ack for ${cmdId}`, { cmdId }));
      }
    }
    this.waiters.clear();
  }
}
