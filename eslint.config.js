// @ts-check
/**
 * ESLint (flat config) with typescript-eslint's type-aware recommended rules. Formatting belongs
 * to Prettier (`.prettierrc.json`); eslint-config-prettier switches off the rules that would fight
 * it. `npm run lint` (scripts/lint.mjs) runs this, the Prettier check and the layering check of `src/` at once.
 */
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      // One program for the one tsconfig that covers every linted file: a few seconds faster than
      // the project service, which looks each file's project up.
      parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Fastify's hooks, plugins and handlers are promise-based: an `async` function without an
      // `await` is how a hook says "I am done" without a `done` callback, and how a handler returns
      // its body. The rule would push those towards callback style or `Promise.resolve` noise.
      '@typescript-eslint/require-await': 'off',
      // `_name` marks a parameter or destructured value kept for its position only.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Tests and benchmarks read JSON bodies of real HTTP responses, typed `any` by every client;
    // tests check them against GitHub's OpenAPI description at run time (test/support/openapi.ts),
    // so declaring a TypeScript type for each would add nothing. In `src/` `any` stays an error.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // The same reason lets tests declare such bodies `any` (benchmarks say so where they do).
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Plain JavaScript (this file, helper processes) is outside the TypeScript project.
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The pages' one script runs in the browser.
    files: ['src/web/static/**/*.js'],
    languageOptions: { globals: { ...globals.browser }, sourceType: 'script' },
  },
  prettier,
);
