/**
 * The lane I/O board's text protocol (also what hardware-sim's SimPassageSensor speaks):
 * one line per event, ASCII, ended by CR, LF or CRLF.
 *
 *   PASS            one person went through the lane
 *   EMERGENCY ON    the fire-alarm / emergency input became active
 *   EMERGENCY OFF   it was released
 *
 * Case and surrounding whitespace are ignored; anything else is `unknown` (counted and
 * logged by the driver, never acted on).
 */
export type LaneEvent = { type: 'pass' } | { type: 'emergency'; on: boolean } | { type: 'unknown'; text: string };

export function parseLaneLine(line: string): LaneEvent {
  const text = line.trim().replace(/\s+/g, ' ').toUpperCase();
  if (text === 'PASS') return { type: 'pass' };
  if (text === 'EMERGENCY ON') return { type: 'emergency', on: true };
  if (text === 'EMERGENCY OFF') return { type: 'emergency', on: false };
  return { type: 'unknown', text: line.slice(0, 64) };
}

export function serializeLaneEvent(e: Exclude<LaneEvent, { type: 'unknown' }>): string {
  return e.type === 'pass' ? 'PASS\n' : `EMERGENCY ${e.on ? 'ON' : 'OFF'}\n`;
}
