import type { Command } from 'commander';
import { loadAppConfig } from '../../config/app-config.js';
import { ConfigError } from '../../config/config-source.js';
import {
  DEFAULT_SCHEDULE_TZ,
  IdentifySchedules,
  ScheduleError,
  type IdentifySchedule,
} from '../../queue/identify-schedule.js';
import { requireRedis } from '../../queue/require-redis.js';
import { EXIT, printJson, printLine } from '../output.js';

interface IdentifyFlags {
  cron: string;
  tz?: string;
  id?: string;
  json?: boolean;
}

/** Opens the deployment's schedules for `fn`; a ScheduleError is a usage error (exit 2). */
async function withSchedules<T>(command: Command, fn: (schedules: IdentifySchedules) => Promise<T>): Promise<T> {
  const config = loadAppConfig(command.optsWithGlobals());
  await requireRedis(config.redisUrl);
  const schedules = IdentifySchedules.open(config);
  try {
    return await fn(schedules);
  } catch (err) {
    if (err instanceof ScheduleError) throw new ConfigError([err.message]);
    throw err;
  } finally {
    await schedules.close();
  }
}

function describe(s: IdentifySchedule): string {
  return `${s.id}  ${s.kind} ${s.source}  cron "${s.cron}" ${s.tz}  next ${s.next ?? '-'}`;
}

export function registerSchedule(program: Command): void {
  const schedule = program
    .command('schedule')
    .description('cron schedules (BullMQ job schedulers on the `schedule` queue), run by workers on that queue');

  schedule
    .command('identify')
    .description(
      'identify the new snapshots of <source> at every cron time (one schedule per source; running it again updates it)',
    )
    .argument('<source>', 'folder or s3://bucket/prefix holding the snapshots')
    .requiredOption('--cron <expr>', 'when: "minute hour day month weekday", e.g. "0 2 * * *" for 02:00 every night')
    .option('--tz <zone>', `IANA time zone the cron expression is read in (default: ${DEFAULT_SCHEDULE_TZ})`)
    .option('--id <id>', 'schedule id (default: identify-<hash of the source URL>)')
    .option('--json', 'print the schedule as JSON')
    .action(async (source: string, flags: IdentifyFlags, command: Command) => {
      const saved = await withSchedules(command, (s) =>
        s.upsert({ source, cron: flags.cron, tz: flags.tz, id: flags.id }),
      );
      if (flags.json) printJson(saved);
      else {
        printLine(describe(saved));
        printLine(
          'workers on the schedule queue (`facepipe worker --queues schedule`, or `facepipe up`) start the runs',
        );
      }
      process.exitCode = EXIT.ok;
    });

  schedule
    .command('list')
    .description('every schedule: id, source, cron, time zone, next run')
    .option('--json', 'print a JSON array')
    .action(async (flags: { json?: boolean }, command: Command) => {
      const list = await withSchedules(command, (s) => s.list());
      if (flags.json) printJson(list);
      else if (list.length === 0) printLine('no schedules');
      else {
        const rows = [
          ['id', 'kind', 'source', 'cron', 'tz', 'next'],
          ...list.map((s) => [s.id, s.kind, s.source, s.cron, s.tz, s.next ?? '-']),
        ];
        const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
        for (const row of rows)
          printLine(
            row
              .map((cell, i) => cell.padEnd(widths[i]))
              .join('  ')
              .trimEnd(),
          );
      }
      process.exitCode = EXIT.ok;
    });

  schedule
    .command('remove')
    .description('remove a schedule (jobs it already started are left to finish)')
    .argument('<id>', 'schedule id, as `facepipe schedule list` shows it')
    .action(async (id: string, _flags: unknown, command: Command) => {
      const removed = await withSchedules(command, (s) => s.remove(id));
      if (removed) {
        printLine(`removed ${id}`);
        process.exitCode = EXIT.ok;
      } else {
        process.stderr.write(`facepipe: no schedule ${id}\n`);
        process.exitCode = EXIT.failed;
      }
    });
}
