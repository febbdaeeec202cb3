import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Unit tests run against sources; process-level tests spawn the built dist/.
    alias: { '@stile/config': fileURLToPath(new URL('./config/src/index.ts', import.meta.url)) },
  },
  test: {
    include: ['*/test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
