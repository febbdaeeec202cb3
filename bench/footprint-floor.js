// Baseline of the start→READY figure (bench/footprint.js): load what stile-gate has loaded
// by the time it sends READY=1 (the bin's imports, serialport for the serial devices,
// unix-dgram for $NOTIFY_SOCKET), run nothing, exit. Keep the list in step with
// gate-agent/src/bin/stile-gate.ts.
import { createRequire } from 'node:module';
import '../config/dist/index.js';
import '../service/dist/index.js';
import '../gate-agent/dist/daemon/gate-daemon.js';
import '../gate-agent/dist/daemon/logger.js';
import '../gate-agent/dist/daemon/supervision.js';
import '../gate-agent/dist/daemon/gate-metrics.js';
import 'serialport';
import 'better-sqlite3';

createRequire(new URL('../service/package.json', import.meta.url))('unix-dgram');
