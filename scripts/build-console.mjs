#!/usr/bin/env node
// Builds the web console (src/console, Preact) into dist/console: one minified ES module, its CSS
// and index.html, all served by the index service at `/` (src/index/console/console-assets.ts).
// Part of `npm run build` and `prepare`: the package carries every asset, nothing comes from a CDN.
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Writes the bundle to `outDir` (default dist/console) and returns that folder. */
export async function buildConsole(outDir = path.join(root, 'dist', 'console')) {
  const source = path.join(root, 'src', 'console');
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: [path.join(source, 'main.tsx')],
    outfile: path.join(outDir, 'app.js'),
    bundle: true,
    format: 'esm',
    minify: true,
    target: ['es2020'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    logLevel: 'warning',
    absWorkingDir: root,
  });
  await copyFile(path.join(source, 'index.html'), path.join(outDir, 'index.html'));
  await copyFile(path.join(source, 'app.css'), path.join(outDir, 'app.css'));
  return outDir;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = await buildConsole(process.argv[2]);
  console.log(`console built in ${path.relative(process.cwd(), out) || out}`);
}
