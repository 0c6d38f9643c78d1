// The shared lint config. Packages compose `base` with the room they live in, so an import that
// flows the wrong way (STYLE.md, "The folders are the architecture") fails `npm test`, not a review.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export const base = tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/.stryker-tmp/**', '**/reports/**', '**/coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
);

/** packages/rules: pure computation that also runs in browsers — no clock, no randomness, no Node. */
export const pure = [
  {
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.test.ts', 'src/**/*.bench.ts'],
    rules: {
      'no-restricted-globals': ['error',
        { name: 'process', message: 'rules take configuration as arguments' },
        { name: 'Buffer', message: 'rules run in browsers' },
        { name: 'require', message: 'rules are ES modules' },
      ],
      'no-restricted-properties': ['error',
        { object: 'Date', property: 'now', message: 'pass `now` as an argument' },
        { object: 'Math', property: 'random', message: 'rules are deterministic' },
      ],
      'no-restricted-imports': ['error', { patterns: [
        { group: ['node:*'], message: 'rules run in browsers' },
        { group: ['@jifen/db', '@jifen/api', '@jifen/widgets', 'react'], message: 'rules import nothing of the other rooms' },
      ] }],
    },
  },
];

/** packages/widgets: the API is a dev dependency whose types alone may be imported. */
export const widgets = [
  {
    files: ['src/**/*.ts', 'src/**/*.tsx'],
    rules: {
      'no-restricted-imports': ['error', { paths: [
        { name: '@jifen/api', message: 'widgets import only the router type', allowTypeImports: true },
      ], patterns: [{ group: ['@jifen/db', 'node:*'], message: 'widgets run in the browser' }] }],
    },
  },
];
