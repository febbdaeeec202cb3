/**
 * The one state a sales channel is in, as staff read it on the dashboard. Pure: the unit
 * tests import it as it is.
 */
import type { DashboardModel, Level } from '../../src/modules/dashboard/model.js';

type Channel = DashboardModel['channels'][number];

export type ChannelState =
  /** Selling: not paused, and the capacity level lets this kind of channel sell. */
  | { state: 'selling' }
  /** Paused by staff (pause/resume); shown whatever the capacity level, since resuming is what staff can do. */
  | { state: 'paused' }
  /** Stopped by capacity: red stops every channel, orange the online ones (the kiosk sells on). */
  | { state: 'stopped'; level: 'orange' | 'red' };

export function channelState(channel: Pick<Channel, 'paused' | 'kind'>, level: Level | undefined): ChannelState {
  if (channel.paused) return { state: 'paused' };
  if (level === 'red') return { state: 'stopped', level: 'red' };
  if (level === 'orange' && channel.kind === 'online') return { state: 'stopped', level: 'orange' };
  return { state: 'selling' };
}
