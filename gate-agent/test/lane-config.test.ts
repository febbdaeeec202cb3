import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadGateConfig } from '@stile/config';

const BASE = `
version: 1
site: { id: west-lake }
gate: { id: north-2 }
store: { path: gate.db }
keys: { idHash: { value: "0123456789abcdef0123456789abcdef" } }
ticketTypes: [{ id: adult, name: Adult }]
inputs: [{ type: qr-serial, path: /dev/ttyUSB0 }]
`;

function load(extra: string) {
  const file = join(mkdtempSync(join(tmpdir(), 'stile-lane-')), 'gate.yaml');
  writeFileSync(file, BASE + extra);
  return { file, load: () => loadGateConfig(file) };
}

function errorsOf(extra: string): string[] {
  const { file, load: run } = load(extra);
  try {
    run();
  } catch (err) {
    return (err as Error).message.split('\n').map((l) => l.replace(`${file}: `, ''));
  }
  throw new Error('config was accepted');
}

describe('lane config', () => {
  it('a full lane section loads with defaults; relative paths resolve next to the file', () => {
    const { file, load: run } = load(`
lane:
  sensor: { type: serial, path: sensor-pty }
  passageConfirm: {}
  emergency: { mode: fail-safe }
  display: { type: serial, path: /dev/ttyUSB2, encoding: gb18030 }
`);
    expect(run().lane).toEqual({
      sensor: { type: 'serial', path: join(file, '..', 'sensor-pty'), baudRate: 9600 },
      passageConfirm: { windowMs: 5000 },
      emergency: { mode: 'fail-safe' },
      display: { type: 'serial', path: '/dev/ttyUSB2', baudRate: 9600, encoding: 'gb18030' },
    });
    expect(load('lane: { sensor: { type: gpio, passagePin: 535, emergencyPin: 536 } }').load().lane?.sensor).toEqual({ type: 'gpio', passagePin: 535, emergencyPin: 536, activeLow: false, debounceMs: 20 });
    expect(load('').load().lane).toBeUndefined();
  });

  it('names every problem in a bad lane section, each with its field path', () => {
    expect(errorsOf(`
lane:
  sensor: { type: usb, path: /dev/x }
  emergency: { mode: fail-open }
  display: { type: lcd }
  passageConfirm: { windowMs: 10 }
  buzzer: true
`)).toEqual([
      'lane.sensor.type: expected lane sensor type "serial" or "gpio"',
      'lane.passageConfirm.windowMs: expected at least 100 ms',
      'lane.emergency.mode: expected "fail-safe" or "fail-secure"',
      'lane.display.type: expected lane display type "log" or "serial"',
      'lane: Unrecognized key: "buzzer"',
    ]);
  });

  it('refuses features without the input they need', () => {
    expect(errorsOf('lane: { passageConfirm: { windowMs: 3000 }, emergency: { mode: fail-safe } }')).toEqual([
      'lane.passageConfirm: passage confirm needs a lane.sensor that reports PASS',
      'lane.emergency: emergency needs a lane.sensor with an emergency input',
    ]);
    expect(errorsOf('lane: { sensor: { type: gpio, emergencyPin: 5 }, passageConfirm: {} }')).toEqual(['lane.passageConfirm: passage confirm needs lane.sensor.passagePin']);
    expect(errorsOf('lane: { sensor: { type: gpio, passagePin: 5 }, emergency: { mode: fail-secure } }')).toEqual(['lane.emergency: emergency needs lane.sensor.emergencyPin']);
    expect(errorsOf('lane: { sensor: { type: gpio } }')).toEqual(['lane.sensor: a gpio sensor needs passagePin, emergencyPin or both']);
    expect(errorsOf('lane: { sensor: { type: gpio, passagePin: 5, emergencyPin: 5 } }')).toEqual(['lane.sensor.emergencyPin: passagePin and emergencyPin are both 5; they need separate lines']);
  });

  it('refuses a lane device on a port or GPIO line something else already uses', () => {
    expect(errorsOf('lane: { sensor: { type: serial, path: /dev/ttyUSB0 } }')).toEqual(['lane.sensor.path: /dev/ttyUSB0 is also used by inputs.0; each device needs its own port']);
    expect(errorsOf('lane: { sensor: { type: serial, path: /dev/ttyS1 }, display: { type: serial, path: /dev/ttyS1 } }')).toEqual([
      'lane.display.path: /dev/ttyS1 is also lane.sensor.path; sensor and display need their own ports',
    ]);
    expect(errorsOf('relay: { type: gpio, pin: 17 }\nlane: { sensor: { type: gpio, passagePin: 17 } }')).toEqual(["lane.sensor.passagePin: GPIO line 17 is the relay's pin"]);
  });
});
