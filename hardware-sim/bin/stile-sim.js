#!/usr/bin/env node
import "../dist/bin/stile-sim.js";
