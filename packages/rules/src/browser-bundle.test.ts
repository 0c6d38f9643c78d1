import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { type Plugin, build } from 'esbuild';
import { describe, expect, it } from 'vitest';

/**
 * packages/rules runs in browsers too (SPEC §1: the widgets preview a points+cash split with it), so
 * it must bundle for the browser with nothing Node-only: no built-in modules and no `process`.
 */

const entry = fileURLToPath(new URL('./index.ts', import.meta.url));
const nodeBuiltins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

/** Records every import of a Node built-in, with the file that asked for it. */
function nodeBuiltinWatch(found: string[]): Plugin {
  return {
    name: 'node-builtin-watch',
    setup(context) {
      context.onResolve({ filter: /.*/ }, (args) => {
        if (nodeBuiltins.has(args.path) || args.path.startsWith('node:')) found.push(`${args.path} (from ${args.importer})`);
        return undefined;
      });
    },
  };
}

const builtinsFound: string[] = [];
let browserBundle: ReturnType<typeof build> | undefined;
/** Built once, on first use, for every test below. */
const bundleForBrowser = () =>
  (browserBundle ??= build({
    entryPoints: [entry],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    logLevel: 'silent',
    plugins: [nodeBuiltinWatch(builtinsFound)],
  }));

describe('the rules bundle for the browser', () => {
  it('bundles src/index.ts for the browser without importing any Node built-in', async () => {
    const result = await bundleForBrowser();
    expect(result.errors).toEqual([]);
    expect(builtinsFound).toEqual([]);
    expect(result.outputFiles).toHaveLength(1);
    expect(result.outputFiles?.[0]?.text).toContain('parseProgram');
  });

  it('references no `process` global, since esbuild defines nothing for it', async () => {
    const result = await bundleForBrowser();
    const text = result.outputFiles?.[0]?.text ?? '';
    expect(text.length).toBeGreaterThan(0);
    expect(text).not.toMatch(/\bprocess\s*\./);
    expect(text).not.toMatch(/\bBuffer\s*\./);
  });

  it('fails the check when a module asks for a Node built-in', async () => {
    const found: string[] = [];
    await expect(
      build({
        stdin: { contents: "import { readFileSync } from 'node:fs'; export const read = readFileSync;", resolveDir: process.cwd() },
        bundle: true,
        platform: 'browser',
        write: false,
        logLevel: 'silent',
        plugins: [nodeBuiltinWatch(found)],
      }),
    ).rejects.toThrow();
    expect(found).toEqual(['node:fs (from <stdin>)']);
  });
});
