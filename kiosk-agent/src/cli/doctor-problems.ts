import type { doctor } from '@stile/gate-agent';

/**
 * The kiosk's own doctor checks (printer, cash) and their problems; the checks it shares with
 * the gate are in gate-agent's catalogue (doctor-problems.ts). docs/doctor.md's table is
 * generated from both (kiosk-agent/scripts/doctor-doc.mjs).
 */
export const KIOSK_CHECKS: Record<string, doctor.CheckText> = {
  printer: { what: 'the ticket printer answers a status request and has paper, its cover closed and no jam: asked through the running stile-kiosk, else on the port directly', roles: ['kiosk'] },
  cash: { what: 'the bill validator and the coin hopper answer on the ccTalk line (through the running stile-kiosk, else polled directly); coins left in the hopper as counted (warn under 50) or its low-level sensor', roles: ['kiosk'] },
};

export const KIOSK_PROBLEMS = {
  'printer.fault': { check: 'printer', status: 'fail', means: 'the printer reports a fault: no ticket can be printed, so the kiosk sells nothing', fix: 'paper_out: load a new roll; cover_open: close the cover; paper_jam or cutter_jam: open it, clear the paper, close; overheated: let it cool; then `kioskctl status` shows it ready' },
  'printer.silent': { check: 'printer', status: 'fail', means: 'the printer does not answer', fix: 'check the printer\'s power switch and cable, and devices.printer.path and baudRate in {config} (printer self-test: hold FEED while switching on)' },
  'printer.paper_low': { check: 'printer', status: 'warn', means: 'the paper roll is nearly used up', fix: 'put a new roll ready and change it at the next quiet moment' },
  'cash.validator': { check: 'cash', status: 'fail', means: 'the bill validator does not answer or is not ready: the kiosk takes no notes', fix: 'check its power and the ccTalk cable, its address in {config} (devices.cash.billValidator.address); clear a jammed note and close the cash box' },
  'cash.hopper': { check: 'cash', status: 'fail', means: 'the coin hopper does not answer: the kiosk can give no change, so it takes exact cash only', fix: 'check its power and the ccTalk cable and its address in {config} (devices.cash.hopper.address); clear a jammed coin' },
  'cash.hopper_low': { check: 'cash', status: 'warn', means: 'few coins are left in the hopper: change will soon run out', fix: 'refill the hopper and record it: `kioskctl refill --coins N`' },
} as const satisfies Record<string, doctor.ProblemText>;

export type KioskProblemKey = keyof typeof KIOSK_PROBLEMS;
