import { parse } from 'yaml';
import { findSocat, startSimGate } from '@stile/hardware-sim';
import type { DemoHardware } from './park.js';

/** hardware-sim devices for each gate: the gate opens the device ends, the demo plays the visitors on the other. */
export function simHardware(): DemoHardware {
  return {
    describe: 'hardware: each gate on simulated devices (hardware-sim on socat ptys): QR scanner and ID-card reader → gate → LCUS relay board',
    async gate(dir) {
      const sim = await startSimGate({ dir, sensor: false, display: false });
      const yaml = parse(sim.gateYaml()) as { inputs: Record<string, unknown>[]; relay: Record<string, unknown> };
      const inputs = yaml.inputs.map((i) => (i.type === 'idcard-ga467' ? { ...i, pollMs: 200 } : i));
      return {
        inputs,
        // Short pulses: a visitor flow at demo pace must not queue up at the turnstile.
        relay: { ...yaml.relay, pulseMs: 150, gapMs: 100 },
        scan: async (text) => {
          await sim.scanner.scan(text);
        },
        placeCard: (idNumber, name) => sim.idReader?.placeCard({ idNumber, name }),
        removeCard: () => sim.idReader?.removeCard(),
        pulses: () => sim.relay.pulses.length,
        close: () => sim.close(),
      };
    },
  };
}

/**
 * The simulated hardware for `npm start`, or why there is none: DEMO_HARDWARE=0 turns it off,
 * and without socat (or hardware-sim's python3 relay) the gates take scans directly.
 */
export function demoHardware(env: NodeJS.ProcessEnv = process.env): { hardware?: DemoHardware; hardwareNote?: string } {
  if (env.DEMO_HARDWARE === '0') return { hardwareNote: 'hardware: off (DEMO_HARDWARE=0): visitors are handed to the gates directly' };
  try {
    findSocat();
    return { hardware: simHardware() };
  } catch {
    return { hardwareNote: 'hardware: the simulated scanner, ID reader and relay need socat (apt-get install socat); visitors are handed to the gates directly' };
  }
}
