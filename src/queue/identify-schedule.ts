import { Queue } from 'bullmq';
import { CronExpressionParser } from 'cron-parser';
import type { AppConfig } from '../config/app-config.js';
import { parseS3Url } from '../storage/parse-s3-url.js';
import { canonicalStorageUrl, storageUrlScheme } from '../storage/storage-url.js';
import { shortHash } from '../util/short-hash.js';
import type { ScheduleJobData } from './jobs.js';
import { QUEUE_NAMES, queueConnectionOptions } from './queue-names.js';

/** One scheduler as `facepipe schedule list` shows it. */
export interface IdentifySchedule {
  id: string;
  kind: string;
  source: string;
  cron: string;
  tz: string;
  /** ISO time of the next run, or null when BullMQ has none (e.g. the scheduler just ran). */
  next: string | null;
}

/** A bad cron expression, time zone, source or id: the command line's fault (exit code 2). */
export class ScheduleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScheduleError';
  }
}

export const DEFAULT_SCHEDULE_TZ = 'UTC';

/** BullMQ's name of the jobs the identify schedulers create. */
export const IDENTIFY_JOB_NAME = 'identify';

/**
 * How a scheduled job is retried: a transient fault (Redis or storage unreachable) gets a few
 * tries with backoff; history is bounded, since a scheduler adds a job every night forever.
 */
const TEMPLATE_OPTS = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 30_000 },
  removeOnComplete: { count: 100 },
  removeOnFail: { count: 100 },
} as const;

/** Also the start of the run ids of scheduled runs: see scheduledRunId. */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;

/**
 * A time zone the runtime (and so cron-parser, through Intl) knows, in its canonical spelling
 * ('europe/paris' -> 'Europe/Paris'). Throws a ScheduleError for anything else: an unknown zone
 * must not quietly become UTC.
 */
export function validateTimeZone(tz: string): string {
  const trimmed = tz.trim();
  try {
    if (trimmed === '') throw new RangeError('empty');
    return new Intl.DateTimeFormat('en-US', { timeZone: trimmed }).resolvedOptions().timeZone;
  } catch {
    throw new ScheduleError(
      `unknown time zone ${JSON.stringify(tz)}: expected an IANA zone such as UTC, Europe/Paris or America/New_York`,
    );
  }
}

/**
 * Checks a cron expression the way the scheduler will read it (cron-parser, as BullMQ uses it, in
 * `tz`) and returns it trimmed with its next run time. Five fields (minute hour day month weekday),
 * six (seconds first) or a predefined '@daily'-style alias; an expression that never fires is
 * refused too.
 */
export function validateCron(
  expression: string,
  tz: string = DEFAULT_SCHEDULE_TZ,
  now: Date = new Date(),
): { cron: string; next: Date } {
  const cron = expression.trim();
  const fields = cron.split(/\s+/).filter((f) => f !== '');
  const usage =
    'expected 5 fields (minute hour day-of-month month day-of-week, e.g. "0 2 * * *" for 02:00 every night), 6 with seconds first, or @daily/@hourly/...';
  if (cron.startsWith('@') ? fields.length !== 1 : fields.length !== 5 && fields.length !== 6) {
    throw new ScheduleError(`invalid cron expression ${JSON.stringify(expression)}: ${usage}`);
  }
  let next: Date;
  try {
    next = CronExpressionParser.parse(cron, { tz, currentDate: now }).next().toDate();
  } catch (err) {
    throw new ScheduleError(
      `invalid cron expression ${JSON.stringify(expression)}: ${err instanceof Error ? err.message : String(err)} (${usage})`,
    );
  }
  if (Number.isNaN(next.getTime()))
    throw new ScheduleError(`invalid cron expression ${JSON.stringify(expression)} in time zone ${tz}`);
  return { cron, next };
}

/** A source the identify producer can list: a folder, file:///path or s3://bucket/prefix; canonical. */
export function validateSource(source: string): string {
  const scheme = storageUrlScheme(source);
  const ok =
    source.trim() !== '' && (scheme === undefined || scheme === 'file' || (scheme === 's3' && canParseS3(source)));
  if (!ok)
    throw new ScheduleError(
      `invalid source ${JSON.stringify(source)}: expected a folder path, file:///path or s3://bucket/prefix`,
    );
  return canonicalStorageUrl(source);
}

function canParseS3(url: string): boolean {
  try {
    parseS3Url(url);
    return true;
  } catch {
    return false;
  }
}

/** The default scheduler id of a source: `identify-<12 hex of sha256(canonical source URL)>`. */
export function identifyScheduleId(source: string): string {
  return `identify-${shortHash(canonicalStorageUrl(source), 12)}`;
}

export interface UpsertIdentifyScheduleOptions {
  source: string;
  cron: string;
  /** IANA time zone the cron expression is read in (default UTC). */
  tz?: string;
  /** Scheduler id (default identifyScheduleId(source)). */
  id?: string;
}

/**
 * The deployment's job schedulers on the `schedule` queue: one per source, each adding a
 * `{ kind: 'identify', source }` job at its cron times for the `schedule` worker to run the
 * identify producer with.
 */
export class IdentifySchedules {
  private constructor(readonly queue: Queue<ScheduleJobData>) {}

  static open(config: Pick<AppConfig, 'redisUrl' | 'queuePrefix' | 'storage'>): IdentifySchedules {
    return new IdentifySchedules(new Queue<ScheduleJobData>(QUEUE_NAMES.schedule, queueConnectionOptions(config)));
  }

  /**
   * Creates the source's scheduler, or updates it (same id) with the new cron and zone. Everything
   * is validated before Redis is touched. Refuses a second scheduler for a source that already
   * has one under another id.
   */
  async upsert(options: UpsertIdentifyScheduleOptions): Promise<IdentifySchedule> {
    const source = validateSource(options.source);
    const tz = validateTimeZone(options.tz ?? DEFAULT_SCHEDULE_TZ);
    const { cron } = validateCron(options.cron, tz);
    const id = options.id ?? identifyScheduleId(source);
    if (!ID_PATTERN.test(id))
      throw new ScheduleError(
        `invalid schedule id ${JSON.stringify(id)}: expected 1 to 100 letters, digits, '_' or '-', starting with a letter or digit`,
      );

    const other = (await this.list()).find((s) => s.source === source && s.id !== id);
    if (other) {
      throw new ScheduleError(
        `${source} is scheduled already as ${other.id}: update that one (--id ${other.id}) or remove it first (facepipe schedule remove ${other.id})`,
      );
    }
    await this.queue.upsertJobScheduler(
      id,
      { pattern: cron, tz },
      { name: IDENTIFY_JOB_NAME, data: { kind: 'identify', source }, opts: TEMPLATE_OPTS },
    );
    const saved = await this.get(id);
    if (!saved) throw new Error(`job scheduler ${id} was not saved`);
    return saved;
  }

  async get(id: string): Promise<IdentifySchedule | undefined> {
    const scheduler = await this.queue.getJobScheduler(id);
    return scheduler ? toSchedule(scheduler) : undefined;
  }

  /** Every scheduler of the deployment, soonest next run first. */
  async list(): Promise<IdentifySchedule[]> {
    const schedulers = await this.queue.getJobSchedulers(0, -1, true);
    return schedulers.map(toSchedule);
  }

  /** True when a scheduler of that id existed. Jobs it added already are left alone. */
  async remove(id: string): Promise<boolean> {
    return this.queue.removeJobScheduler(id);
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}

function toSchedule(s: {
  key: string;
  name: string;
  pattern?: string;
  tz?: string;
  next?: number | null;
  template?: { data?: Partial<ScheduleJobData> };
}): IdentifySchedule {
  const next = typeof s.next === 'number' && Number.isFinite(s.next) ? new Date(s.next).toISOString() : null;
  return {
    id: s.key,
    kind: s.template?.data?.kind ?? s.name,
    source: s.template?.data?.source ?? '',
    cron: s.pattern ?? '',
    tz: s.tz ?? DEFAULT_SCHEDULE_TZ,
    next,
  };
}
