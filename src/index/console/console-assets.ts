import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * Where `npm run build` (scripts/build-console.mjs) writes the console: <package>/dist/console,
 * three folders up from src/index/console and dist/index/console alike.
 */
export const CONSOLE_BUNDLE_DIR = fileURLToPath(new URL('../../../dist/console/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
};

/**
 * Everything from this origin, nothing from the internet (issue 23: offline, no CDN, no fonts);
 * images of the API arrive as blob: URLs (fetched with the key), the search upload as data:.
 */
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; img-src 'self' blob: data:; script-src 'self'; style-src 'self'; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'";

/**
 * The web console at `/` and its assets at `/console/<file>`, public: the page holds no biometric
 * data, every API call it makes sends the key the user gives it. Files are read from the bundle
 * folder once (only the names found there are served: no path from the URL reaches the disk).
 */
export function registerConsoleAssets(app: FastifyInstance, dir: string = CONSOLE_BUNDLE_DIR): void {
  let files: Promise<Map<string, Buffer>> | undefined;
  const load = () => {
    files ??= readBundle(dir).catch((err: unknown) => {
      files = undefined; // built later: try again on the next request
      throw err;
    });
    return files;
  };
  const send = async (reply: FastifyReply, name: string) => {
    let bundle: Map<string, Buffer>;
    try {
      bundle = await load();
    } catch {
      return reply
        .status(503)
        .type('text/plain; charset=utf-8')
        .send(`the web console is not built (no ${dir}): run \`npm run build\``);
    }
    const body = bundle.get(name);
    if (body === undefined) {
      return reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no console file ${name}` } });
    }
    return reply
      .header('content-security-policy', CONTENT_SECURITY_POLICY)
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', name === 'index.html' ? 'no-cache' : 'public, max-age=300')
      .type(TYPES[path.extname(name)] ?? 'application/octet-stream')
      .send(body);
  };
  const options = { config: { role: 'public' as const }, schema: { hide: true } };
  app.get('/', options, (_request, reply) => send(reply, 'index.html'));
  app.get<{ Params: { file: string } }>('/console/:file', options, (request, reply) =>
    send(reply, request.params.file),
  );
}

async function readBundle(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isFile()) files.set(entry.name, await readFile(path.join(dir, entry.name)));
  }
  if (!files.has('index.html')) throw new Error(`${dir} has no index.html`);
  return files;
}
