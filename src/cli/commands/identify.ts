import type { Command } from 'commander';
import { loadAppConfig } from '../../config/app-config.js';
import { DEFAULT_IDENTIFY_CHUNK_SIZE, runIdentify } from '../../producers/identify-run.js';
import type { PersonSeen } from '../../producers/types.js';
import { requireRedis } from '../../queue/require-redis.js';
import { intArg } from '../arg-parsers.js';
import { printFailures, printSkipped } from '../failure-lines.js';
import { EXIT, printJson, printLine } from '../output.js';
import { progressBar } from '../progress-bar.js';
import { withInterrupt } from '../until-signal.js';
import { deploymentModel } from '../engine-session.js';
import { addRuleOptions, ruleOverrides } from '../rule-options.js';

interface IdentifyFlags {
  run?: string;
  since?: string;
  chunkSize: number;
  wait?: boolean;
  json?: boolean;
}

export function registerIdentify(program: Command): void {
  addRuleOptions(program.command('identify'))
    .description(
      'identify every face in the snapshots under <source> against the gallery; workers write facepipe/results/<run>/<key>.json',
    )
    .argument('<source>', 'folder or s3://bucket/prefix holding the snapshots (any depth)')
    .option('--run <id>', 'run id (default: a new one); an existing run is re-run: only what it lost is enqueued again')
    .option(
      '--since <ISO time>',
      'only snapshots modified after this (default: where the last completed run of this source ended)',
    )
    .option('--chunk-size <n>', 'snapshots per job', intArg(1, 1000), DEFAULT_IDENTIFY_CHUNK_SIZE)
    .option('--wait', 'wait until the workers are done, with a progress bar on a terminal')
    .option(
      '--json',
      'print one JSON summary as the last line (with --wait: `failures`, the first 100 failed snapshots by key, `failed` counting all; `seen`, per person the snapshots and the first and last)',
    )
    .action(async (sourceArg: string, flags: IdentifyFlags, command: Command) => {
      const globals = command.optsWithGlobals();
      const config = loadAppConfig(globals);
      const model = await deploymentModel(globals);
      // Carried by the run's jobs: the workers lay them over their own rule for this run only.
      const rule = ruleOverrides(globals);
      await requireRedis(config.redisUrl);
      const bar = progressBar('identify', { unit: 'snapshots', extra: 'faces' });
      try {
        const report = await withInterrupt((abort) =>
          runIdentify(config, {
            source: sourceArg,
            model,
            run: flags.run,
            since: flags.since,
            chunkSize: flags.chunkSize,
            wait: flags.wait,
            abort,
            requireImages: true,
            rule,
            onNoWorker: (message) => process.stderr.write(`facepipe: warning: ${message}\n`),
            onProgress: ({ done, total, failed, faces }) => bar.update(done, total, { failed, extra: faces }),
          }),
        );
        bar.stop();
        if (flags.json) printJson(report);
        else if (report.snapshots === 0) {
          printLine(
            `run ${report.run}: no snapshot under ${sourceArg}${report.since ? ` modified after ${report.since}` : ''}: nothing to identify`,
          );
          printSkipped(report);
        } else if ('identified' in report) {
          printLine(
            `run ${report.run}: ${report.snapshots} snapshots, ${report.faces} faces: ${report.identified} identified, ${report.unknown} unknown; ${report.failed} snapshots failed; ${report.seconds.toFixed(1)} s`,
          );
          printSeen(report.seen);
          printFailures(report.failures, report.failed, `facepipe failures ${report.run}`);
          printSkipped(report);
          if (!report.complete)
            printLine(
              `run ${report.run} is not complete: ${report.pending > 0 ? `${report.pending} snapshots hit an outage (INDEX_UNAVAILABLE, SOURCE_UNAVAILABLE); ` : ''}` +
                `\`facepipe identify ${sourceArg} --run ${report.run}\` (or the next run) identifies them again`,
            );
          printLine(`results: ${report.resultsPrefix}`);
        } else {
          printLine(
            `run ${report.run}: ${report.snapshots} snapshots${report.since ? ` modified after ${report.since}` : ''}; ${report.enqueued} enqueued in ${report.jobs} jobs, ${report.alreadyQueued} already queued, ${report.alreadyDone} done before`,
          );
          printSkipped(report);
          printLine(
            `workers (\`facepipe worker\` or \`facepipe up\`) write ${report.resultsPrefix}; add --wait to follow`,
          );
        }
        process.exitCode = 'identified' in report && report.failed > 0 ? EXIT.failed : EXIT.ok;
      } finally {
        bar.stop();
      }
    });
}

/** Persons named in text: the rest are counted, and --json lists them all. */
const PERSONS_SHOWN = 20;

/** Who the run saw: per person the snapshots, the first and the last; most snapshots first. */
function printSeen(seen: readonly PersonSeen[]): void {
  if (seen.length === 0) return;
  const shown = seen.slice(0, PERSONS_SHOWN);
  printLine(`seen (${seen.length} persons, most snapshots first):`);
  for (const p of shown)
    printLine(
      `  ${p.personId}: ${p.snapshots} snapshot(s), first ${p.first.key} (${p.first.at}), last ${p.last.key} (${p.last.at})`,
    );
  if (seen.length > shown.length) printLine(`  ... ${seen.length - shown.length} more persons: --json lists them all`);
}
