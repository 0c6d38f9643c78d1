import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteContext } from './server';
import { frontendSites, safeRelativePath, serveStatic } from './static';

/** The built front ends over HTTP (static.ts): cache headers, gzip, revalidation, the app fallback and path safety. */

const chunk = `export const widget = "${'x'.repeat(4_000)}";\n`;

describe('serving built files', () => {
  const root = mkdtempSync(join(tmpdir(), 'jifen-static-'));
  const folders = { storefront: join(root, 'storefront'), embed: join(root, 'embed'), pages: join(root, 'public') };
  let server: Server;
  let base = '';

  beforeAll(async () => {
    for (const folder of [...Object.values(folders), join(folders.storefront, 'assets')]) mkdirSync(folder, { recursive: true });
    writeFileSync(join(folders.embed, 'jifen.js'), 'import("./jifen-elements-CoJr0wqP.js");\n');
    writeFileSync(join(folders.embed, 'jifen-elements-CoJr0wqP.js'), chunk);
    writeFileSync(join(folders.storefront, 'index.html'), '<!doctype html><title>shop</title>');
    writeFileSync(join(folders.storefront, 'assets', 'index-B-oFFuNj.js'), chunk);
    writeFileSync(join(folders.pages, 'embed.html'), '<!doctype html><title>embed</title>');
    writeFileSync(join(root, 'secret.txt'), 'outside every site');
    writeFileSync(join(folders.pages, '.env'), 'SECRET=1');
    const handler = serveStatic(frontendSites(folders));
    server = createServer((request, response) => {
      const context = { requestId: 'r', pathname: (request.url ?? '/').split('?')[0]!, search: '', headers: { 'x-request-id': 'r' } } as unknown as RouteContext;
      void handler(request, response, context).then((status) => {
        if (status === null) response.writeHead(404).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('caches hashed chunks for a year as immutable and revalidates the loader and the pages', async () => {
    const cacheOf = async (path: string) => (await fetch(`${base}${path}`)).headers.get('cache-control');
    expect(await cacheOf('/widgets/jifen-elements-CoJr0wqP.js')).toBe('public, max-age=31536000, immutable');
    expect(await cacheOf('/assets/index-B-oFFuNj.js')).toBe('public, max-age=31536000, immutable');
    expect(await cacheOf('/widgets/jifen.js')).toBe('no-cache');
    expect(await cacheOf('/embed.html')).toBe('no-cache');
    expect(await cacheOf('/')).toBe('no-cache');
  });

  it('sends JavaScript with its type, gzipped to a browser that accepts it, and answers a known ETag with 304', async () => {
    const gzipped = await fetch(`${base}/widgets/jifen-elements-CoJr0wqP.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(gzipped.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(gzipped.headers.get('content-encoding')).toBe('gzip');
    expect(Number(gzipped.headers.get('content-length'))).toBeLessThan(chunk.length / 10);
    expect(await gzipped.text()).toBe(chunk);
    const etag = gzipped.headers.get('etag')!;
    const again = await fetch(`${base}/widgets/jifen-elements-CoJr0wqP.js`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    const plain = await fetch(`${base}/widgets/jifen-elements-CoJr0wqP.js`, { headers: { 'accept-encoding': 'identity' } });
    expect(plain.headers.get('content-encoding')).toBeNull();
  });

  it("answers the app's page paths with its index.html, but not a missing script or a path under /widgets/", async () => {
    const page = await fetch(`${base}/checkout`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>shop</title>');
    expect((await fetch(`${base}/assets/missing-AbCdEf12.js`, { headers: { accept: 'text/html' } })).status).toBe(404);
    expect((await fetch(`${base}/checkout`, { headers: { accept: 'application/json' } })).status).toBe(404);
    expect((await fetch(`${base}/embed.html`)).status).toBe(200);
    expect((await fetch(`${base}/widgets/nothing.js`)).status).toBe(404);
  });

  it('never serves a file outside its folder or a hidden one', async () => {
    for (const path of ['/%2e%2e/secret.txt', '/widgets/..%2f..%2fsecret.txt', '/.env', '/%2eenv', '/widgets/%00jifen.js', '/..%5csecret.txt']) {
      expect((await fetch(`${base}${path}`)).status, path).toBe(404);
    }
  });

  it('refuses methods other than GET and HEAD, and answers HEAD without a body', async () => {
    expect((await fetch(`${base}/widgets/jifen.js`, { method: 'POST' })).status).toBe(404);
    const head = await fetch(`${base}/widgets/jifen.js`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });
});

describe('a URL path as a path inside a site', () => {
  it('decodes and normalises a path, and refuses traversal, hidden files, backslashes, NUL and bad escapes', () => {
    expect(safeRelativePath('/')).toBe('');
    expect(safeRelativePath('/widgets/jifen.js')).toBe('widgets/jifen.js');
    expect(safeRelativePath('/a//b/')).toBe('a/b/');
    expect(safeRelativePath('/%E7%A7%AF%E5%88%86.html')).toBe('积分.html');
    for (const path of ['/../x', '/a/%2e%2e/x', '/.git/config', '/a\\b', '/a%00', '/%E0%A4%A']) expect(safeRelativePath(path), path).toBeNull();
  });
});
