/**
 * The printer's status answers, decoded. Pure.
 *
 * DLE EOT n answers one byte shaped 0xx1xx10 (bits 0 and 7 clear, bits 1 and 4 set):
 *   n=1 printer:       bit 3 offline
 *   n=2 offline cause: bit 2 cover open, bit 5 stopped at paper end, bit 6 error
 *   n=3 error cause:   bit 2 mechanical error (jam), bit 3 autocutter error,
 *                      bit 5 unrecoverable error, bit 6 auto-recoverable error (head hot)
 *   n=4 paper sensor:  bits 2+3 roll near end, bits 5+6 roll end
 * GS r 1 answers one byte shaped 0xx0xxxx: bits 0+1 near end, bits 2+3 paper end. The
 * different bit 4 is how a late GS r answer is told from a DLE EOT one.
 */

export interface PrinterStatus {
  online: boolean;
  paperOut: boolean;
  paperNearEnd: boolean;
  coverOpen: boolean;
  /** Paper stuck in the autocutter: the usual jam on a kiosk printer. */
  cutterError: boolean;
  /** Mechanical error: paper jammed in the path, head not at home. */
  mechanicalError: boolean;
  unrecoverableError: boolean;
  /** Head too hot or low voltage; clears by itself. */
  autoRecoverableError: boolean;
}

/** Why the printer cannot print now, as codes for logs, the screen and kioskctl. */
export type PrinterFault =
  | 'paper_out'
  | 'cover_open'
  | 'cutter_jam'
  | 'paper_jam'
  | 'unrecoverable_error'
  | 'overheated'
  | 'offline'
  /** Transport faults: no port (or it went away), no answer from the printer. */
  | 'disconnected'
  | 'no_answer';

export type StatusRequestKind = 1 | 2 | 3 | 4;

/** True for a byte that can be a DLE EOT answer. */
export function isRealtimeStatusByte(b: number): boolean {
  return (b & 0x93) === 0x12;
}

/** True for a byte that can be a GS r 1 answer. */
export function isPaperStatusByte(b: number): boolean {
  return (b & 0x90) === 0;
}

/** The four DLE EOT answers → status; null when a byte does not have the fixed bits. */
export function decodeStatus(answers: Record<StatusRequestKind, number>): PrinterStatus | null {
  const { 1: printer, 2: offline, 3: error, 4: paper } = answers;
  if (![printer, offline, error, paper].every(isRealtimeStatusByte)) return null;
  return {
    online: (printer & 0x08) === 0,
    coverOpen: (offline & 0x04) !== 0,
    paperOut: (offline & 0x20) !== 0 || (paper & 0x60) === 0x60,
    paperNearEnd: (paper & 0x0c) === 0x0c,
    mechanicalError: (error & 0x04) !== 0,
    cutterError: (error & 0x08) !== 0,
    unrecoverableError: (error & 0x20) !== 0,
    autoRecoverableError: (error & 0x40) !== 0,
  };
}

/** GS r 1 → paper state. */
export function decodePaperStatus(b: number): { paperOut: boolean; paperNearEnd: boolean } {
  return { paperOut: (b & 0x0c) === 0x0c, paperNearEnd: (b & 0x03) === 0x03 };
}

/** What stops printing, most actionable first. Near end is a warning, not a fault. */
export function statusFaults(s: PrinterStatus): PrinterFault[] {
  const faults: PrinterFault[] = [];
  if (s.coverOpen) faults.push('cover_open');
  if (s.paperOut) faults.push('paper_out');
  if (s.cutterError) faults.push('cutter_jam');
  if (s.mechanicalError) faults.push('paper_jam');
  if (s.unrecoverableError) faults.push('unrecoverable_error');
  if (s.autoRecoverableError) faults.push('overheated');
  if (!s.online && faults.length === 0) faults.push('offline');
  return faults;
}
