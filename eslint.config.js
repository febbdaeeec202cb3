import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const NO_DEMO = { group: ['@stile/demo', '@stile/demo/*', '**/demo/src/*', '**/demo/dist/*'], message: 'production packages do not depend on the demo (@stile/demo)' };
const CORE = 'cloud-bridge core imports nothing outside src/core (no module, not bridge.ts or http/)';
const MODULE = 'a cloud-bridge module imports only its own folder, src/core and @stile/config: reach another module through core events or a port (core/ports.ts), wired in bridge.ts';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.bench-tmp/**', 'packaging/.cache/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', fetch: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // The demo is its own workspace (@stile/demo): production code never imports it (tests may).
    files: ['config/src/**', 'gate-agent/src/**', 'hardware-sim/src/**', 'cloud-bridge/src/**', 'payment-sim/src/**', 'announcer/src/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [NO_DEMO] }] },
  },
  // cloud-bridge's boundaries (docs/architecture.md, "cloud-bridge"): core imports no module and
  // nothing above it; a module imports only its own folder, core and @stile/config — modules
  // talk through core's events and ports, wired in bridge.ts.
  {
    files: ['cloud-bridge/src/core/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [NO_DEMO, { regex: '^\\.\\./', message: CORE } ] }] },
  },
  {
    files: ['cloud-bridge/src/core/*/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [NO_DEMO, { regex: '^\\.\\./\\.\\./', message: CORE } ] }] },
  },
  {
    files: ['cloud-bridge/src/modules/*/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [NO_DEMO, { regex: '^\\.\\./(?!\\.\\./core/)', message: MODULE }, { group: ['@stile/cloud-bridge', '@stile/cloud-bridge/*'], message: MODULE }] }] },
  },
  {
    files: ['cloud-bridge/src/modules/*/*/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [NO_DEMO, { regex: '^\\.\\./\\.\\./(?!\\.\\./core/)', message: MODULE }, { group: ['@stile/cloud-bridge', '@stile/cloud-bridge/*'], message: MODULE }] }] },
  },
  {
    // The browser code (dashboard, entrance screen): from the server it takes only its page's model type and label table.
    files: ['cloud-bridge/web/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'browser code: no Node modules' },
            { regex: '^\\.\\./(\\.\\./)*src/(?!modules/(dashboard|screen)/(model|text)\\.js$|modules/booking/page-text\\.js$)', message: 'browser code imports only the model.js and text.js of src/modules/dashboard and src/modules/screen, and src/modules/booking/page-text.js, from the server' },
          ],
        },
      ],
    },
  },
  {
    // The kiosk's touchscreen page: from the daemon it takes only the view model, the input type and the text tables.
    files: ['kiosk-agent/web/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'browser code: no Node modules' },
            { regex: '^\\.\\./src/(?!screen/(view|text|input|window-view|window-text)\\.js$|sale/(text|model)\\.js$)', message: 'the kiosk pages import only src/screen/{view,text,input,window-view,window-text}.js and src/sale/{text,model}.js from the daemon' },
          ],
        },
      ],
    },
  },  {
    // Shared browser helpers: bundled into every page, so no Node modules and nothing of the servers.
    files: ['web-kit/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['node:*'], message: 'browser code: no Node modules' }, { group: ['@stile/*'], message: 'web-kit stands alone: the pages import it, not the other way' }] }],
    },
  },
);
