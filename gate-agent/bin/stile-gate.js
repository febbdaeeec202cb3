#!/usr/bin/env node
import "../dist/bin/stile-gate.js";
