// The linter: typescript-eslint with type-aware rules (`npm run lint`, run by .ci/run after the
// typecheck). Every rule turned off or narrowed here says why in one line.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // Browser scripts in public/ are checked in Chromium by the e2e tests; migrations and clients are not TypeScript.
  { ignores: ['node_modules/', 'public/', 'clients/', 'migrations/', 'docs/', '**/*.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // A union switched on must name every member, or say `default:` on purpose.
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      // Fastify plugins and route registrations are async by contract (fastify awaits them) and often await nothing.
      '@typescript-eslint/require-await': 'off',
      // A leading underscore is how a deliberately unused parameter or destructured field is named.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    files: ['src/domain/gaussian.ts', 'tests/unit/gaussian.test.ts'],
    // AS241's coefficients are kept digit for digit as published; the double each rounds to is the intended value.
    rules: { 'no-loss-of-precision': 'off' },
  },
  {
    files: ['tests/**/*.ts'],
    rules: {
      // light-my-request's `response.json()` is `any` by design; the tests assert the reply's shape, field by field.
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
);
