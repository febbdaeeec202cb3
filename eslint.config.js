import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.bench-tmp/**'] },
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
    files: ['config/src/**', 'gate-agent/src/**', 'hardware-sim/src/**', 'cloud-bridge/src/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['@stile/demo', '@stile/demo/*', '**/demo/src/*', '**/demo/dist/*'], message: 'production packages do not depend on the demo (@stile/demo)' }] }],
    },
  },
  {
    // The dashboard's browser code: from the server it takes only the model type and the label table.
    files: ['cloud-bridge/web/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'browser code: no Node modules' },
            { regex: '^\\.\\./(\\.\\./)*src/(?!modules/dashboard/(model|text)\\.js$)', message: 'browser code imports only src/modules/dashboard/model.js and text.js from the server' },
          ],
        },
      ],
    },
  },
);
