/**
 * Starting a worker thread on a script that is a `.ts` file (vitest, tsx, dev) or a `.js` file
 * (compiled dist). Shared by WorkerPool and the one-shot index build worker.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** A worker on `script`: a `.ts` URL is loaded through tsx, a `.js` one as is. */
export function startWorker(script: URL, options: WorkerOptions = {}): Worker {
  return script.pathname.endsWith('.ts')
    ? new Worker(tsBootstrap(script), { ...options, eval: true, execArgv: loaderExecArgv() })
    : new Worker(script, options); // compiled dist: inherits the parent's execArgv as usual
}

/**
 * Source for a worker that runs a `.ts` script (vitest, tsx). `execArgv: ['--import', 'tsx']`
 * does not work here: on Node 20 the hooks it registers are not applied to the worker's own
 * modules (ERR_UNKNOWN_FILE_EXTENSION, tsx issue #354), so register tsx explicitly, then import.
 * A failure becomes an unhandled rejection, which kills the worker before it answers.
 */
function tsBootstrap(script: URL): string {
  let api = 'tsx/esm/api';
  try {
    api = import.meta.resolve(api); // from this package, not from the cwd, which may be anywhere
  } catch {
    // keep the bare specifier
  }
  return `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(script.href)}); });`;
}

/** The parent's module-loading flags (e.g. vitest's --conditions); most others are refused in workers. */
function loaderExecArgv(): string[] {
  const keep = /^(--import|--require|-r|--loader|--experimental-loader|--conditions|-C)(=|$)/;
  const args: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const m = keep.exec(argv[i]);
    if (!m) continue;
    const flag = m[2] === '' && i + 1 < argv.length ? [argv[i], argv[++i]] : [argv[i]];
    // tsx's own flags are dropped: tsBootstrap() registers it, and twice would transform twice.
    if (!flag.some((a) => a.includes('tsx'))) args.push(...flag);
  }
  return args;
}
