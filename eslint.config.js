// ESLint flat config. typescript-eslint's recommended set without type information: the type-checked set
// would run the compiler a second time, and `tsc` already checks types in pretest.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/** Throwing a bare Error (or a string) loses the stable code callers, logs and docs/errors.md rely on. */
const TYPED_ERRORS_ONLY = 'Throw a typed error with a stable code (src/core/errors.ts, adapters/sdk for adapters), not a bare Error.';

export default defineConfig(
  {
    ignores: ['dist/**', 'node_modules/**', 'vendor/**', 'schemas/**', 'coverage/**', 'test/fixtures/**', 'test/scratch/**'],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.js'],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
    },
    rules: {
      eqeqeq: ['error', 'always'],
      // A `let` read by a closure before its one assignment (a shutdown hook, a late-bound node) cannot be const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      'no-console': 'error',
      // `_`-prefixed names are deliberately unused (a parameter kept for its position, a discarded element).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
    },
  },
  {
    // The bus's own code: every failure is a TramiteError (or an adapter's AdapterError) with a code.
    files: ['src/**/*.ts', 'envelopes/**/*.ts', 'adapters/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: "NewExpression[callee.type='Identifier'][callee.name='Error']", message: TYPED_ERRORS_ONLY },
        { selector: "CallExpression[callee.type='Identifier'][callee.name='Error']", message: TYPED_ERRORS_ONLY },
        { selector: 'ThrowStatement > Literal', message: TYPED_ERRORS_ONLY },
        { selector: 'ThrowStatement > TemplateLiteral', message: TYPED_ERRORS_ONLY },
      ],
    },
  },
  {
    // Command-line programs, benchmarks and tests write to the terminal on purpose.
    files: ['src/cli/**/*.ts', 'bench/**/*.ts', 'test/**/*.ts', 'test-support/**/*.ts'],
    rules: {
      'no-console': 'off',
    },
  },
  {
    // Tests read the API's JSON answers loosely and assert on each field they use; typing every answer
    // would write the API schema a second time, in the tests.
    files: ['test/**/*.ts', 'test-support/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
);
