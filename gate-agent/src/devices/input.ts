import type { EventEmitter } from 'node:events';
import type { Credential } from '../gate/credential.js';
import type { DeviceHealth } from './supervisor.js';

/** Anything that produces credentials: a scanner, an ID-card reader, a FIFO. */
export interface GateInput extends EventEmitter<{ credential: [Credential, string] }> {
  readonly name: string;
  readonly health: DeviceHealth;
  start(): void;
  close(): Promise<void>;
}
