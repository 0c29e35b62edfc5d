import type { Command } from 'commander';
import { loadAppConfig } from '../../config/app-config.js';
import { IndexClient } from '../../index/index-client.js';
import { intArg } from '../arg-parsers.js';
import { EXIT, printJson, printLine } from '../output.js';

interface RebuildFlags {
  m?: number;
  efConstruction?: number;
  json?: boolean;
}

export function registerIndex(program: Command): void {
  const index = program.command('index').description("the index service's HNSW index");
  index
    .command('rebuild')
    .description('build a new index from the gallery alone, in the service, while it keeps answering; then swap to it')
    .option('--m <n>', "HNSW links per node (default: the current index's)", intArg(2, 128))
    .option(
      '--ef-construction <n>',
      "HNSW build-time ef (default: follows the gallery's size, 200 up to 200,000 faces, then 100)",
      intArg(10, 2000),
    )
    .option('--json', 'print the final index status as one JSON object')
    .action(async (flags: RebuildFlags, command: Command) => {
      const config = loadAppConfig(command.optsWithGlobals());
      const client = new IndexClient(config.indexUrl);
      const started = performance.now();
      await client.rebuild({ m: flags.m, efConstruction: flags.efConstruction });
      let status = await client.status();
      while (status.rebuild.state === 'running') {
        await new Promise((resolve) => setTimeout(resolve, 500));
        status = await client.status();
      }
      const seconds = (performance.now() - started) / 1000;
      if (flags.json) printJson({ ...status, seconds });
      else if (status.rebuild.state === 'done') {
        printLine(
          `rebuilt: ${status.faces} faces of ${status.persons} persons, m ${status.m}, efConstruction ${status.efConstruction}, ${seconds.toFixed(1)} s`,
        );
      }
      if (status.rebuild.state !== 'done') {
        process.stderr.write(
          `facepipe index rebuild: ${status.rebuild.state}${status.rebuild.error ? `: ${status.rebuild.error}` : ''}\n`,
        );
        process.exitCode = EXIT.failed;
      }
    });
}
