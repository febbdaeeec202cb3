#!/usr/bin/env node
import "../dist/bin/stile-cloud.js";
