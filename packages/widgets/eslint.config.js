import { base, widgets } from '@jifen/eslint-config';

export default [
  ...base,
  ...widgets,
  // The size check is a Node script run by CI and by test/bundle-size.test.ts.
  { files: ['scripts/**/*.mjs'], languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } } },
];
