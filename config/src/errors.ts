/** Stable error codes for everything that is not a per-scan reject (those are RejectReason). */
export const StileErrorCode = {
  ConfigInvalid: 'CONFIG_INVALID',
  ConfigUnreadable: 'CONFIG_UNREADABLE',
  StoreUnavailable: 'STORE_UNAVAILABLE',
  StoreCorrupt: 'STORE_CORRUPT',
  /** The database was migrated by a newer Stile: its schema version is above what this software knows (docs/backup.md). */
  StoreTooNew: 'STORE_TOO_NEW',
  SnapshotInvalid: 'SNAPSHOT_INVALID',
  KeyInvalid: 'KEY_INVALID',
  DeviceUnavailable: 'DEVICE_UNAVAILABLE',
  /** The device is there but set up for another mode (a HID POS scanner still in keyboard mode). */
  DeviceWrongMode: 'DEVICE_WRONG_MODE',
  UsageError: 'USAGE',
} as const;
export type StileErrorCode = (typeof StileErrorCode)[keyof typeof StileErrorCode];

export class StileError extends Error {
  override readonly name = 'StileError';
  constructor(
    readonly code: StileErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export function isStileError(err: unknown, code?: StileErrorCode): err is StileError {
  return err instanceof StileError && (code === undefined || err.code === code);
}
