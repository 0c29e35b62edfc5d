import type { Command } from 'commander';
import { loadAppConfig } from '../../config/app-config.js';
import { DEFAULT_CHUNK_SIZE, runEnroll } from '../../producers/enroll-run.js';
import { readManifestFile } from '../../producers/manifest.js';
import { requireRedis } from '../../queue/require-redis.js';
import { printFailures, printSkipped } from '../failure-lines.js';
import { intArg } from '../arg-parsers.js';
import { EXIT, printJson, printLine } from '../output.js';
import { progressBar } from '../progress-bar.js';
import { withInterrupt } from '../until-signal.js';
import { deploymentModel } from '../engine-session.js';

interface EnrollFlags {
  manifest?: string;
  chunkSize: number;
  wait?: boolean;
  json?: boolean;
}

export function registerEnroll(program: Command): void {
  program
    .command('enroll')
    .description(
      'enroll a photo archive: <source>/<personId>/<image>, or the images a manifest names; workers do the work',
    )
    .argument('<source>', 'folder or s3://bucket/prefix holding the images')
    .option('--manifest <file>', 'CSV or JSONL with key, personId[, name] (keys relative to <source>)')
    .option('--chunk-size <n>', 'images per job', intArg(1, 1000), DEFAULT_CHUNK_SIZE)
    .option('--wait', 'wait until the workers are done, with a progress bar on a terminal')
    .option(
      '--json',
      'print one JSON summary as the last line (with --wait: `failures`, the first 100 failed images by key; `failed` counts all)',
    )
    .action(async (sourceArg: string, flags: EnrollFlags, command: Command) => {
      const globals = command.optsWithGlobals();
      const config = loadAppConfig(globals);
      const model = await deploymentModel(globals);
      const manifest = flags.manifest !== undefined ? await readManifestFile(flags.manifest) : undefined;
      await requireRedis(config.redisUrl);
      const bar = progressBar('enroll', { unit: 'images', extra: 'faces' });
      try {
        const report = await withInterrupt((abort) =>
          runEnroll(config, {
            source: sourceArg,
            model,
            manifest,
            chunkSize: flags.chunkSize,
            wait: flags.wait,
            abort,
            onNoWorker: (message) => process.stderr.write(`facepipe: warning: ${message}\n`),
            onProgress: ({ done, total, failed, faces }) => bar.update(done, total, { failed, extra: faces }),
          }),
        );
        bar.stop();
        if (flags.json) printJson(report);
        else if ('enrolled' in report) {
          const errors = Object.entries(report.errors)
            .map(([code, n]) => `${code} ${n}`)
            .join(', ');
          printLine(
            `${report.images} images: ${report.enrolled} enrolled (${report.persons} persons), ${report.failed} failed${errors ? ` (${errors})` : ''}, ${report.seconds.toFixed(1)} s`,
          );
          printFailures(report.failures, report.failed, 'facepipe failures --enroll');
          printSkipped(report);
        } else {
          printLine(
            `${report.images} images: ${report.enqueued} enqueued in ${report.jobs} jobs, ${report.alreadyQueued} already queued, ${report.alreadyEnrolled} already enrolled, ${report.alreadyFailed} failed before`,
          );
          if (report.missing + report.invalid > 0)
            printLine(
              `${report.missing} manifest keys missing, ${report.invalid} refused for their person id or key (INVALID_PERSON_ID, INVALID_KEY)`,
            );
          printSkipped(report);
          printLine('workers (`facepipe worker` or `facepipe up`) enroll them; add --wait to follow');
        }
        const failed = 'enrolled' in report ? report.failed : report.invalid;
        process.exitCode = failed > 0 ? EXIT.failed : EXIT.ok;
      } finally {
        bar.stop();
      }
    });
}
