// `npm start` (bin/stile-demo.js): the whole park on one machine. An in-process cloud
// (cloud-bridge: embedded Aedes broker + bridge on SQLite in .demo/, selling through the
// channel API, capacity levels, staff dashboard), two gates (gate-agent: east-1, west-1)
// syncing to it, each on simulated hardware (hardware-sim: QR scanner, ID-card reader and
// relay board on socat pseudo-terminals; without socat the gates take scans directly), and
// visitors who buy online or at the kiosk (with the hardware: stile-kiosk on simulated cash
// devices, printer and readers, kiosk.ts) and walk to a gate until the park is full.
// DEMO_VISITORS=N stops after N visitors; otherwise the flow stops once the park is red and
// the demo idles (dashboard) until Ctrl-C. DEMO_CAPACITY (default 60 persons), DEMO_PACE_MS
// (default 400), DEMO_HARDWARE=0 (no simulated devices), DEMO_DIR (default ./.demo).
import { demoCloud } from './cloud.js';
import { demoHardware } from './hardware.js';
import { runDemoPark } from './park.js';

try {
  await runDemoPark({ cloud: demoCloud(), ...demoHardware() });
} catch (err) {
  console.error(`demo failed: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
}
