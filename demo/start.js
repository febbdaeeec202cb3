// `npm start`: the whole park on one machine. An in-process cloud (cloud-bridge: embedded
// Aedes broker + bridge on SQLite in .demo/, selling through the channel API, capacity levels,
// staff dashboard), two gates (gate-agent: east-1, west-1) syncing to it, each on simulated
// hardware (hardware-sim: QR scanner, ID-card reader and relay board on socat pseudo-terminals;
// without socat the gates take scans directly), and visitors who buy online or at the kiosk
// and walk to a gate until the park is full.
// DEMO_VISITORS=N stops after N visitors; otherwise the flow stops once the park is red and
// the demo idles (dashboard) until Ctrl-C. DEMO_CAPACITY (default 60 persons), DEMO_PACE_MS
// (default 400), DEMO_HARDWARE=0 (no simulated devices), DEMO_DIR (default ./.demo).
import { parse } from 'yaml';
import { demoCloud } from '../cloud-bridge/dist/index.js';
import { runDemoPark } from '../gate-agent/dist/demo/demo-park.js';
import { findSocat, startSimGate } from '../hardware-sim/dist/index.js';

/** hardware-sim devices for each gate: the gate opens the device ends, the demo plays the visitors on the other. */
function simHardware() {
  return {
    describe: 'hardware: each gate on simulated devices (hardware-sim on socat ptys): QR scanner and ID-card reader → gate → LCUS relay board',
    async gate(dir) {
      const sim = await startSimGate({ dir, sensor: false, display: false });
      const yaml = parse(sim.gateYaml());
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

let hardware;
let hardwareNote;
if (process.env.DEMO_HARDWARE === '0') {
  hardwareNote = 'hardware: off (DEMO_HARDWARE=0): visitors are handed to the gates directly';
} else {
  try {
    findSocat();
    hardware = simHardware();
  } catch {
    hardwareNote = 'hardware: the simulated scanner, ID reader and relay need socat (apt-get install socat); visitors are handed to the gates directly';
  }
}

try {
  await runDemoPark({ cloud: demoCloud(), hardware, hardwareNote });
} catch (err) {
  console.error(`demo failed: ${err.stack ?? err}`);
  process.exitCode = 1;
}
