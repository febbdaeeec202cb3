import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { StileError, StileErrorCode } from '@stile/config';
import { StoreLock } from '@stile/service';

/**
 * The kiosk daemon's shared hold on its journal (StoreLock, `<kiosk.db>.lock`): refused while
 * "kioskctl restore" rebuilds the files; ':memory:' has nothing to lock.
 */
export function holdJournalLock(path: string): StoreLock | undefined {
  if (path === ':memory:' || path === '') return undefined;
  mkdirSync(dirname(path), { recursive: true });
  const lock = StoreLock.share(path);
  if (!lock) throw new StileError(StileErrorCode.StoreUnavailable, `${path} is being restored ("kioskctl restore" holds ${StoreLock.pathFor(path)}): start stile-kiosk when it has finished`);
  return lock;
}
