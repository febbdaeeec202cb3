import type { CommandAck, GateCommand } from '@stile/config';
import type { CloudModule, ModuleContext } from '../../core/module.js';
import { Commands, type CommandOptions, type GateAction } from './commands.js';

export interface CommandsModule extends CloudModule {
  /** Sign and send a command to one gate (QoS 1 on …/cmd). */
  sendCommand(site: string, gate: string, action: GateAction, opts: CommandOptions): Promise<GateCommand>;
  /** The gate's ack for `cmdId` (at once if it already came); rejects with no_ack after `timeoutMs`, with closed on stop. */
  waitForAck(cmdId: string, timeoutMs?: number): Promise<CommandAck>;
}

/** Signed gate commands out, their acks back (…/cmd/ack), matched by cmdId. */
export function createCommandsModule(ctx: ModuleContext): CommandsModule {
  const commands = new Commands({ keys: ctx.sites.keys, mqtt: ctx.publisher, metrics: ctx.metrics, log: ctx.log, clock: ctx.clock });
  return {
    name: 'commands',
    mqtt: {
      'cmd/ack': (topic, payload) => {
        commands.handleAck(topic, payload);
        return Promise.resolve(true);
      },
    },
    sendCommand: (site, gate, action, opts) => commands.sendCommand(site, gate, action, opts),
    waitForAck: (cmdId, timeoutMs) => commands.waitForAck(cmdId, timeoutMs),
    stop: () => Promise.resolve(commands.close()),
  };
}
