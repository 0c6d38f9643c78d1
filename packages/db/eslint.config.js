import { base } from '@jifen/eslint-config';

export default [
  ...base,
  {
    // packages/db stores; it may use the rules' units but never reach up into the rooms built on it.
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['@jifen/api', '@jifen/widgets', 'react'], message: 'db imports only rules (rules ← db ← api)' },
      ] }],
    },
  },
  {
    // Migrations are frozen in time and must not see today's schema types: Kysely<any> is the point.
    files: ['src/migrations/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
];
