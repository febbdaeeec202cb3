#!/usr/bin/env node
import "../dist/bin/stile-kiosk.js";
