#!/usr/bin/env node
import "../dist/bin/stile-paysim.js";
