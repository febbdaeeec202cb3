#!/usr/bin/env node
import "../dist/bin/stile-announcer.js";
