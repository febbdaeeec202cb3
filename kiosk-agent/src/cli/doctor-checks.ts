/** The kiosk's own doctor checks, pure: the printer and the cash devices as the probes found them. */
import { doctor } from '@stile/gate-agent';
import { KIOSK_PROBLEMS, type KioskProblemKey } from './doctor-problems.js';

/** Coins in the hopper (as the kiosk counts them) under which change is about to run out. */
export const HOPPER_LOW_COINS = 50;

function problem(role: doctor.Role, id: string, key: KioskProblemKey, detail: string): doctor.CheckResult {
  return doctor.found(KIOSK_PROBLEMS, id, key, detail, { ...role });
}

export type PrinterFacts =
  | { source: 'daemon'; ready: boolean; fault: string | null }
  | { source: 'device'; ready: boolean; faults: string[]; paperNearEnd: boolean; detail: string | null };

export function checkPrinter(f: PrinterFacts, role: doctor.Role): doctor.CheckResult {
  const id = 'printer';
  const via = f.source === 'daemon' ? `(asked through ${role.unit})` : '(asked on its port)';
  if (f.source === 'daemon') {
    if (f.ready) return doctor.passed(id, `ready ${via}`);
    const silent = f.fault === null || f.fault === 'disconnected' || f.fault === 'no_answer';
    return problem(role, id, silent ? 'printer.silent' : 'printer.fault', `not ready: ${f.fault ?? 'no status yet'} ${via}`);
  }
  const silent = f.faults.includes('disconnected') || f.faults.includes('no_answer');
  if (silent) return problem(role, id, 'printer.silent', `${f.detail ?? f.faults.join(', ')} ${via}`);
  if (!f.ready) return problem(role, id, 'printer.fault', `${f.faults.join(', ') || 'not ready'} ${via}`);
  if (f.paperNearEnd) return problem(role, id, 'printer.paper_low', `ready, paper near its end ${via}`);
  return doctor.passed(id, `ready, paper ok ${via}`);
}

export type CashFacts =
  | { configured: false }
  | {
      configured: true;
      source: 'daemon' | 'device';
      validator: { ready: boolean; error: string | null };
      /** null: no hopper configured. `ready` null: the daemon does not say. */
      hopper: { ready: boolean | null; error: string | null; low: boolean | null } | null;
      /** Coins as the kiosk counts them (journal); null before the first refill. */
      coins: number | null;
    };

export function checkCash(f: CashFacts, role: doctor.Role): doctor.CheckResult {
  const id = 'cash';
  if (!f.configured) return doctor.passed(id, 'no cash devices configured (devices.cash)');
  const via = f.source === 'daemon' ? `(through ${role.unit})` : '(polled on the ccTalk line)';
  if (!f.validator.ready) return problem(role, id, 'cash.validator', `bill validator not ready${f.validator.error ? `: ${f.validator.error}` : ''} ${via}`);
  const h = f.hopper;
  if (h && h.ready === false) return problem(role, id, 'cash.hopper', `coin hopper not ready${h.error ? `: ${h.error}` : ''} ${via}`);
  const counted = f.coins === null ? 'coins not counted yet' : `${f.coins} coin(s) counted`;
  if (h && ((f.coins !== null && f.coins < HOPPER_LOW_COINS) || h.low === true)) {
    return problem(role, id, 'cash.hopper_low', `${counted}${h.low ? ', the hopper\'s low-level sensor is on' : ''} (warn under ${HOPPER_LOW_COINS})`);
  }
  return doctor.passed(id, `bill validator ready${h ? `, hopper ${h.ready === null ? 'present' : 'ready'}, ${counted}` : ', no hopper'} ${via}`);
}
