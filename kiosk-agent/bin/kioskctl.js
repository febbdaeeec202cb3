#!/usr/bin/env node
import "../dist/cli/kioskctl.js";
