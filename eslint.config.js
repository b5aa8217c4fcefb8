// ESLint flat config: typescript-eslint's type-checked recommended rules for the TypeScript projects,
// plain recommended rules for the browser page (api/public) and the Node scripts. Formatting is
// prettier's job: eslint-config-prettier, last, turns off every rule that would disagree with it.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier/flat';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['dist/', 'data/', 'bench-results/', 'chaos-results/', 'test-artifacts/', 'docs/']),
  js.configs.recommended,
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-console': 'error',
    },
  },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      // Each file is checked by the tsconfig.json nearest to it (src/ and test/ are separate projects).
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports', fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-import-type-side-effects': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // node:test's describe() and it() return promises that the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { ignoreVoid: true, allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] }] },
      ],
      // Passing on a caught value or an AbortSignal's reason (typed unknown/any) is fine; a literal is not.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      // Off: an async function without await is how an implementation of a Promise-returning interface
      // turns a throw into a rejection (embed, answer, close); dropping `async` would change that.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['api/public/**/*.js'],
    languageOptions: { sourceType: 'module', globals: globals.browser },
  },
  {
    files: ['scripts/**/*.{js,mjs}', 'eslint.config.js'],
    languageOptions: { sourceType: 'module', globals: globals.node },
  },
  {
    // The benchmark and the chaos command print their tables to the terminal; the scripts are command-line tools.
    files: ['bench/**', 'chaos/**', 'scripts/**'],
    rules: { 'no-console': 'off' },
  },
  prettier,
);
