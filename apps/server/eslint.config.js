import { base } from '@jifen/eslint-config';

export default [
  ...base,
  // The bin shim is plain JavaScript run by Node.
  { files: ['bin/**/*.js'], languageOptions: { globals: { process: 'readonly', console: 'readonly' } } },
];
