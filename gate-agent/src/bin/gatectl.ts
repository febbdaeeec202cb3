// Entry point for bin/gatectl.js (which imports dist/bin/gatectl.js, like stile-gate).
import '../cli/gatectl.js';
