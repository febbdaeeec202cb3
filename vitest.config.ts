import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Unit tests run against sources; process-level tests spawn the built dist/. The demo's
    // fixtures (@stile/demo/site, @stile/demo/catalogue, devDependencies of the packages'
    // tests) too, with the cloud-bridge catalogue module they build on.
    alias: [
      { find: /^@stile\/config$/, replacement: fileURLToPath(new URL('./config/src/index.ts', import.meta.url)) },
      { find: /^@stile\/config\/id-number$/, replacement: fileURLToPath(new URL('./config/src/id-number.ts', import.meta.url)) },
      { find: /^@stile\/service$/, replacement: fileURLToPath(new URL('./service/src/index.ts', import.meta.url)) },
      { find: /^@stile\/cloud-bridge\/catalogue$/, replacement: fileURLToPath(new URL('./cloud-bridge/src/core/catalogue.ts', import.meta.url)) },
      { find: /^@stile\/payment-sim$/, replacement: fileURLToPath(new URL('./payment-sim/src/index.ts', import.meta.url)) },
      { find: /^@stile\/demo\/(site|catalogue)$/, replacement: fileURLToPath(new URL('./demo/src/$1.ts', import.meta.url)) },
    ],
  },
  test: {
    include: ['*/test/**/*.test.ts'],
    // Most tests wait on brokers, child processes and timers, not the CPU: with vitest's
    // default (CPUs − 1, one worker on a 2-CPU CI machine) a full run was 20 minutes of mostly idle time.
    // Two, not more: with three, a bridge-start wait in park-local.e2e once ran out on the loaded machine.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
