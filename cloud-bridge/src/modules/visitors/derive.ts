/*
 * Coarse attributes of a visitor, derived at sale time from the ID number and the contact phone
 * (pure). The ID number and the phone exist only as arguments here: what comes out is an age
 * band, a gender, a GB/T 2260 city code and a phone home city code, nothing finer.
 */

export { parseAgeBands, type AgeBand } from '../../core/site-config/visitors.js';
import type { AgeBand } from '../../core/site-config/visitors.js';

/** Completed years at `date` (YYYY-MM-DD) of someone born on `birth` (YYYY-MM-DD). */
export function ageAt(birth: string, date: string): number {
  const years = Number(date.slice(0, 4)) - Number(birth.slice(0, 4));
  return date.slice(5) < birth.slice(5) ? years - 1 : years;
}

export interface IdAttributes {
  ageBand: string;
  /** f | m */
  gender: 'f' | 'm';
  /** GB/T 2260 city (prefecture) code: the first 4 digits. */
  region: string;
}

/** From a normalised, valid 18-character ID number: age band at the visit date, gender (17th digit: odd male), city. */
export function idAttributes(idNumber: string, visitDate: string, bands: readonly AgeBand[]): IdAttributes {
  const birth = `${idNumber.slice(6, 10)}-${idNumber.slice(10, 12)}-${idNumber.slice(12, 14)}`;
  const age = Math.max(0, ageAt(birth, visitDate));
  const band = bands.find((b) => age >= b.from && age <= b.to) ?? bands[bands.length - 1]!;
  return { ageBand: band.label, gender: Number(idNumber[16]) % 2 === 1 ? 'm' : 'f', region: idNumber.slice(0, 4) };
}

/** A mainland mobile number's 7-digit segment, or undefined ("+86 138-0013-8000" → "1380013"). */
export function phoneSegment(phone: string): string | undefined {
  let digits = phone.replace(/[\s\-()]/g, '');
  if (digits.startsWith('+86')) digits = digits.slice(3);
  else if (digits.startsWith('0086')) digits = digits.slice(4);
  return /^1\d{10}$/.test(digits) ? digits.slice(0, 7) : undefined;
}
