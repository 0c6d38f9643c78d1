#!/usr/bin/env node
// `npx jifen …` (SPEC §8): the CLI is TypeScript source, compiled on the fly by tsx — the same path
// the tests and `npm start` take, so there is no build step to forget.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
process.exitCode = await main(process.argv);
