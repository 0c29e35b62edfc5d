import type { Command } from 'commander';
import { loadAppConfig } from '../../config/app-config.js';
import { GalleryStore } from '../../gallery/gallery-store.js';
import { identifyRunFailures, standingEnrollFailures } from '../../producers/run-failures.js';
import { RunStore } from '../../producers/run-store.js';
import { ResultStore } from '../../results/result-store.js';
import { openStorage } from '../../storage/open-storage.js';
import { deploymentModel } from '../engine-session.js';
import { failureLine } from '../failure-lines.js';
import { EXIT, printJson, printLine } from '../output.js';

interface FailuresFlags {
  enroll?: boolean;
  json?: boolean;
}

const HELP = `
Identify runs: the snapshots whose result file holds an error, and the planned snapshots that have
no result file (NO_RESULT). Enrollment: the gallery's failure records that still stand (an image
enrolled since under the same key and person is left out). Lines are tab-separated: key,
(person,) code, message. Reads storage only (--storage / FACEPIPE_STORAGE); no Redis, no service.

Examples:
  $ facepipe failures 20261129T021500Z-3f2a1c
  $ facepipe failures --enroll --json
`;

/** `facepipe failures <run>` and `facepipe failures --enroll`: every failure, named. */
export function registerFailures(program: Command): void {
  program
    .command('failures')
    .description('list every failed input of an identify run, or of enrollment (--enroll), with its code and message')
    .argument('[run]', 'the identify run id (as `facepipe identify` printed it)')
    .option('--enroll', "the gallery's enrollment failures instead of a run's")
    .option(
      '--json',
      'print one JSON object (the last line): {total, items: [{key, (personId, source, failedAt,) code, message}]}',
    )
    .addHelpText('after', HELP)
    .action(async (run: string | undefined, flags: FailuresFlags, command: Command) => {
      if ((run === undefined) === !flags.enroll) {
        command.error('error: give a run id or --enroll (one of them)', {
          exitCode: EXIT.usage,
          code: 'facepipe.missingArgument',
        });
      }
      const globals = command.optsWithGlobals();
      const storage = openStorage(loadAppConfig(globals).storage);
      const items =
        run !== undefined
          ? await identifyRunFailures(new RunStore(storage), new ResultStore(storage), run)
          : await standingEnrollFailures(new GalleryStore(storage, (await deploymentModel(globals)).id));
      if (flags.json) printJson({ total: items.length, items });
      else {
        printLine(`${items.length} failure(s) ${run !== undefined ? `in run ${run}` : 'of enrollment'}`);
        for (const item of items) printLine(failureLine(item));
      }
      process.exitCode = EXIT.ok;
    });
}
