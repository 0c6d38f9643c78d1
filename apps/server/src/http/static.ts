import { createHash } from 'node:crypto';
import { stat, readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, posix, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { RouteHandler } from './server';

/**
 * Built files over HTTP (SPEC §6, §8): the demo storefront at `/`, the widget embed at `/widgets/`
 * and the plain-HTML demo at `/embed.html`. Files whose names carry a content hash are cached by
 * browsers for a year as immutable; every other file (`jifen.js`, the HTML pages) is revalidated
 * on each use with its ETag, so a new release reaches shoppers at once while the heavy chunks it
 * points at are fetched only when they changed. Compressible files go out gzipped when the
 * browser accepts it — the embed's budgets are gzipped sizes.
 */

export interface StaticSite {
  /** The URL path the folder is served under, ending in `/`: `/`, `/widgets/`. */
  prefix: string;
  /** The folder on disk. */
  root: string;
  /** Whether a file (path relative to `root`, `/`-separated) has a content hash in its name. */
  isImmutable(path: string): boolean;
  /** An app's client-side routes: a page request for a path that is no file gets this file (`index.html`). */
  fallback?: string;
}

/** Where `npm run build` leaves each front end, and the server's own pages. */
export const FRONTEND_FOLDERS = {
  storefront: fileURLToPath(new URL('../../../storefront/dist', import.meta.url)),
  embed: fileURLToPath(new URL('../../../../packages/widgets/dist/embed', import.meta.url)),
  pages: fileURLToPath(new URL('../../public', import.meta.url)),
};

/** Vite's `[name]-[hash]` file names: an 8-character base64url hash before the extension. */
const HASHED_NAME = /-[A-Za-z0-9_-]{8}\.(?:js|mjs|css|woff2?|svg|png|jpe?g|webp)$/;
/** The embed's entry keeps its name so merchants can link it; only its chunks are hashed (packages/widgets/vite.config.ts). */
const EMBED_ENTRY = 'jifen.js';

/** The three sites `jifen serve` publishes, most specific first. */
export function frontendSites(folders: typeof FRONTEND_FOLDERS = FRONTEND_FOLDERS): StaticSite[] {
  return [
    { prefix: '/widgets/', root: folders.embed, isImmutable: (path) => path !== EMBED_ENTRY && HASHED_NAME.test(path) },
    { prefix: '/', root: folders.pages, isImmutable: () => false },
    { prefix: '/', root: folders.storefront, isImmutable: (path) => path.startsWith('assets/') && HASHED_NAME.test(path), fallback: 'index.html' },
  ];
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.map', '.svg', '.txt']);
const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

interface LoadedFile {
  body: Buffer;
  gzip: Buffer | null;
  etag: string;
  /** The stat that produced this entry: a rebuilt file has another. */
  version: string;
}

/** Serves `sites`, first match wins; passes (null) for a path none of them has, so the server answers 404. */
export function serveStatic(sites: readonly StaticSite[]): RouteHandler {
  const loaded = new Map<string, LoadedFile>();

  async function load(path: string): Promise<LoadedFile | null> {
    let version: string;
    try {
      const info = await stat(path);
      if (!info.isFile()) return null;
      version = `${info.size}:${info.mtimeMs}`;
    } catch {
      return null;
    }
    const cached = loaded.get(path);
    if (cached?.version === version) return cached;
    const body = await readFile(path);
    const file: LoadedFile = {
      body,
      gzip: COMPRESSIBLE.has(extname(path)) && body.length > 512 ? gzipSync(body, { level: 9 }) : null,
      // Weak: the gzipped and the plain bytes are one representation to a cache that varies on Accept-Encoding.
      etag: `W/"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
      version,
    };
    loaded.set(path, file);
    return file;
  }

  return async (request, response, context) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return null;
    const relative = safeRelativePath(context.pathname);
    if (relative === null) return null;
    for (const site of sites) {
      if (!relative.startsWith(site.prefix.slice(1)) && `${relative}/` !== site.prefix.slice(1)) continue;
      let inSite = relative.slice(site.prefix.length - 1);
      if (inSite === '' || inSite.endsWith('/')) inSite += 'index.html';
      const path = resolve(site.root, inSite);
      if (!path.startsWith(resolve(site.root) + sep)) continue;
      let file = await load(path);
      let isFallback = false;
      if (file === null && site.fallback !== undefined && isPageRequest(request, relative)) {
        file = await load(resolve(site.root, site.fallback));
        isFallback = true;
      }
      if (file === null) continue;
      const served = isFallback ? site.fallback! : inSite;
      return send(request, response, context.headers, file, served, site.isImmutable(served));
    }
    return null;
  };
}

function send(request: IncomingMessage, response: ServerResponse, base: Record<string, string>, file: LoadedFile, path: string, isImmutable: boolean): number {
  const headers: Record<string, string> = {
    ...base,
    'content-type': CONTENT_TYPES[extname(path)] ?? 'application/octet-stream',
    'cache-control': isImmutable ? IMMUTABLE : REVALIDATE,
    etag: file.etag,
    'x-content-type-options': 'nosniff',
  };
  if (file.gzip !== null) headers.vary = 'Accept-Encoding';
  if (String(request.headers['if-none-match'] ?? '').split(',').some((tag) => tag.trim() === file.etag)) {
    response.writeHead(304, headers).end();
    return 304;
  }
  const isGzipped = file.gzip !== null && /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
  const body = isGzipped ? file.gzip! : file.body;
  if (isGzipped) headers['content-encoding'] = 'gzip';
  headers['content-length'] = String(body.length);
  response.writeHead(200, headers);
  response.end(request.method === 'HEAD' ? undefined : body);
  return 200;
}

/**
 * The URL path without its leading `/`, decoded and normalised; null for anything that could
 * step outside a site (`..`, an encoded separator, a NUL) or reach a hidden file (`.env`, `.git`).
 */
export function safeRelativePath(pathname: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (!decoded.startsWith('/') || decoded.includes('\0') || decoded.includes('\\')) return null;
  const segments = decoded.slice(1).split('/');
  if (segments.some((segment) => segment.startsWith('.'))) return null;
  const normalised = posix.normalize(decoded).slice(1);
  return normalised === '.' ? '' : normalised;
}

/** A browser navigating to one of the app's pages (not a missing script or image): an extensionless path asking for HTML. */
function isPageRequest(request: IncomingMessage, path: string): boolean {
  return extname(path) === '' && String(request.headers.accept ?? '').includes('text/html');
}
