#!/usr/bin/env -S node --max-semi-space-size=1 --v8-pool-size=1
// The V8 flags keep an idle gate small on a 1–2 GB board (docs/footprint.md, bench/footprint.js):
// a 1 MiB young generation instead of up to 16 MiB, and one V8 helper thread instead of four.
import "../dist/bin/stile-gate.js";
