#!/usr/bin/env node
import "../dist/bin/gatectl.js";
