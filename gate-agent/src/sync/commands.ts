import type { Logger } from 'pino';
import { GateCommandSchema, type CommandAck, type GateCommand, type TrustedKeys } from '@stile/config';
import type { GateStore } from '../store/index.js';
import { checkControl } from './control.js';
import { bump, type SyncStatus } from './status.js';

/** What a command may do to the gate; the daemon provides it. */
export interface GateActions {
  /** Let `persons` through without a ticket (ticketId null), audited with who and why. */
  open(persons: number, audit: { cmdId: string; issuedBy: string; reason?: string }): Promise<void>;
  setLocked(locked: boolean, audit: { cmdId: string; issuedBy: string }): void;
  setEmergency(on: boolean, audit: { cmdId: string; issuedBy: string }): void;
  resync(): void;
  /** Re-read the config; may refuse (the ack then says failed with this detail). */
  reloadConfig(): Promise<{ ok: true } | { ok: false; detail: string }>;
}

export interface CommandDeps {
  store: GateStore;
  site: string;
  gate: string;
  trusted: TrustedKeys;
  today(): string;
  now(): number;
  actions: GateActions;
  ack(ack: CommandAck): void;
  status: SyncStatus;
  log: Logger;
}

/**
 * Runs signed remote commands for this gate. Every command that carries a cmdId is
 * acked, refusals included; unparseable ones are dropped and counted. A cmdId is
 * claimed durably before it runs, so a redelivered command is acked `duplicate` and
 * never runs twice (at most once, which is what "open the turnstile" needs).
 */
export class CommandHandler {
  constructor(private readonly d: CommandDeps) {}

  async handle(payload: Buffer): Promise<void> {
    if (payload.length === 0) return;
    const c = checkControl(payload, GateCommandSchema, this.d.trusted, this.d.today());
    if (!c.ok) {
      bump(this.d.status.dropped, c.reason);
      const cmdId = typeof c.raw?.cmdId === 'string' && c.raw.cmdId.length >= 8 && c.raw.cmdId.length <= 64 ? c.raw.cmdId : undefined;
      this.d.log.warn({ event: 'command_refused', reason: c.reason, detail: c.detail, cmdId }, 'command refused');
      if (cmdId) this.reply(cmdId, 'refused', `${c.reason}: ${c.detail}`);
      return;
    }
    const cmd = c.msg;
    const audit = { cmdId: cmd.cmdId, action: cmd.action, issuedBy: cmd.issuedBy, ...(cmd.reason !== undefined ? { reason: cmd.reason } : {}) };
    if (cmd.site !== this.d.site || cmd.gate !== this.d.gate) {
      this.d.log.warn({ event: 'command_refused', reason: 'wrong_gate', ...audit, site: cmd.site, gate: cmd.gate }, 'command is for another gate');
      return this.reply(cmd.cmdId, 'refused', `wrong_gate: command is for ${cmd.site}/${cmd.gate}`);
    }
    if (!this.d.store.claimCommand(cmd.cmdId, cmd.action, new Date(this.d.now()).toISOString())) {
      this.d.log.info({ event: 'command_duplicate', ...audit }, 'command already handled');
      return this.reply(cmd.cmdId, 'duplicate');
    }
    if (Date.parse(cmd.expiresAt) < this.d.now()) {
      this.d.store.setCommandResult(cmd.cmdId, 'refused');
      this.d.log.warn({ event: 'command_refused', reason: 'expired', ...audit, expiresAt: cmd.expiresAt }, 'command expired');
      return this.reply(cmd.cmdId, 'refused', `expired at ${cmd.expiresAt}`);
    }
    this.d.log.warn({ event: 'command', ...audit, persons: cmd.persons }, `remote command: ${cmd.action}`);
    let result: CommandAck['result'] = 'done';
    let detail: string | undefined;
    try {
      const r = await this.run(cmd);
      if (!r.ok) {
        result = 'failed';
        detail = r.detail;
      }
    } catch (err) {
      result = 'failed';
      detail = (err as Error).message;
      this.d.log.error({ event: 'command_failed', ...audit, err: detail }, 'command failed');
    }
    this.d.store.setCommandResult(cmd.cmdId, result);
    this.reply(cmd.cmdId, result, detail);
  }

  private async run(cmd: GateCommand): Promise<{ ok: true } | { ok: false; detail: string }> {
    const who = { cmdId: cmd.cmdId, issuedBy: cmd.issuedBy };
    const a = this.d.actions;
    switch (cmd.action) {
      case 'open':
        await a.open(cmd.persons ?? 1, { ...who, ...(cmd.reason !== undefined ? { reason: cmd.reason } : {}) });
        return { ok: true };
      case 'lock':
      case 'unlock':
        a.setLocked(cmd.action === 'lock', who);
        return { ok: true };
      case 'emergency-open':
      case 'emergency-clear':
        a.setEmergency(cmd.action === 'emergency-open', who);
        return { ok: true };
      case 'resync':
        a.resync();
        return { ok: true };
      case 'reload-config':
        return a.reloadConfig();
    }
  }

  private reply(cmdId: string, result: CommandAck['result'], detail?: string): void {
    bump(this.d.status.commands, result);
    this.d.ack({ v: 1, cmdId, result, ...(detail !== undefined ? { detail: detail.slice(0, 500) } : {}), at: new Date(this.d.now()).toISOString() });
  }
}
