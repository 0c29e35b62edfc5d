import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { AppConfig } from '../config/app-config.js';
import type { ImageAnalysis } from '../engine/engine-types.js';
import { BASE_MODEL, type EmbeddingModel } from '../engine/embedding-model.js';
import type { FaceAnalyzer } from '../engine/face-analyzer.js';
import type { ImageInput } from '../engine/types.js';
import { GalleryStore } from '../gallery/gallery-store.js';
import type { IdentificationRule } from '../identification/identification-rule.js';
import { IdentificationSettingsStore } from '../identification/identification-settings-store.js';
import { LiveIdentificationRule } from '../identification/live-identification-rule.js';
import { CohortOffsetsStore } from '../identification/cohort-offsets-store.js';
import { loadHubNormalisation, loadQualityGates } from '../config/identification-config.js';
import { logger } from '../logger.js';
import { MatchStore } from '../matches/match-store.js';
import { ChangeLog } from '../queue/change-log.js';
import type { EnrollJobData } from '../queue/jobs.js';
import { apiKeysKey, changeLogKey, matchKeyPrefix, QUEUE_NAMES, queueConnectionOptions } from '../queue/queue-names.js';
import { HTTP_LIMIT_DEFAULTS, type HttpLimits } from '../config/http-limits-config.js';
import { ApiKeyRing } from './auth/api-key-ring.js';
import { ApiKeyStore } from './auth/api-key-store.js';
import { API_KEYS_ENV, parseEnvApiKeys } from './auth/env-api-keys.js';
import { isLoopbackHost } from './auth/loopback-host.js';
import { openStorage } from '../storage/open-storage.js';
import { registerConsole } from './console/register-console.js';
import { registerIndexAdminRoutes } from './index-admin-routes.js';
import { buildIndexServer } from './index-http-server.js';
import { IndexService, type IndexServiceOptions } from './index-service.js';
import { IndexSnapshotStore } from './index-snapshot-store.js';
import { registerMatchRoutes } from './match-routes.js';
import { registerPersonChangeRoutes } from './person-routes.js';
import { PersonService } from './person-service.js';
import { registerDeploymentOps } from './ops/deployment-ops.js';
import { processMetricsRegistry } from '../util/metrics-registry.js';

export interface IndexServiceRuntimeOptions {
  port: number;
  host: string;
  ef?: number;
  /** The engine for /v1/identify and /v1/verify; started on first use when given as a factory. */
  analyzer?: FaceAnalyzer | (() => Promise<FaceAnalyzer>);
  /** The embedding model served (default: the engine's, without adapter): names the gallery, snapshots and change log. */
  model?: EmbeddingModel;
  /**
   * Serve without API keys on any address (`--insecure-no-auth`). Otherwise keys come from the
   * deployment's Redis and FACEPIPE_API_KEYS; with none, only a loopback address is served (openly).
   */
  insecureNoAuth?: boolean;
  /** How often the deployment's keys are re-read, ms (default 2 s). */
  keyRefreshMs?: number;
  /** Limits of the image routes and connections (default HTTP_LIMIT_DEFAULTS). */
  limits?: Partial<HttpLimits>;
  /** The 1:N rule settings given explicitly (flags, environment): they win over the deployment's calibrated rule. */
  rule?: Partial<IdentificationRule>;
  /** How often the deployment's rule is looked at, ms (tests shorten it). */
  rulePollMs?: number;
  /** Snapshot cadence and log reads (tests shorten them). */
  service?: Partial<Omit<IndexServiceOptions, 'dim' | 'ef'>>;
}

export interface RunningIndexService {
  /** http://host:port actually listened on. */
  url: string;
  service: IndexService;
  /** Stops answering, writes the last snapshot, closes connections. */
  close(): Promise<void>;
}

/** `facepipe serve`: the index service on this deployment's storage and Redis, over HTTP. */
export async function startIndexService(
  config: AppConfig,
  options: IndexServiceRuntimeOptions,
): Promise<RunningIndexService> {
  const model = options.model ?? BASE_MODEL;
  // Before any connection opens: a bad FACEPIPE_API_KEYS stops the start with its message alone.
  const envKeys = parseEnvApiKeys(process.env[API_KEYS_ENV]);
  const storage = openStorage(config.storage);
  const gallery = new GalleryStore(storage, model.id, undefined, { embeddingSize: model.embeddingSize });
  const snapshots = new IndexSnapshotStore(storage, model.id);
  // Two connections: the follow loop blocks on reads; deletions publish on the other.
  const reader = new Redis(config.redisUrl);
  const writer = new Redis(config.redisUrl);
  const key = changeLogKey(config, model.id);
  const service = new IndexService(gallery, snapshots, new ChangeLog(reader, key), {
    dim: model.embeddingSize,
    ef: options.ef,
    ...options.service,
  });
  service.useDeletionLog(new ChangeLog(writer, key));

  const keys = new ApiKeyRing(envKeys, () => new ApiKeyStore(writer, apiKeysKey(config)).list(), options.keyRefreshMs);
  const loopback = isLoopbackHost(options.host);
  try {
    await keys.start();
    if (keys.size === 0 && !loopback && !options.insecureNoAuth) {
      throw new Error(
        `refusing to listen on ${options.host} without API keys: create one with \`facepipe keys create --role admin\` (or set ${API_KEYS_ENV}), listen on 127.0.0.1, or pass --insecure-no-auth`,
      );
    }
  } catch (err) {
    keys.stop();
    reader.disconnect();
    writer.disconnect();
    throw err;
  }
  if (options.insecureNoAuth) {
    logger.warn(
      { host: options.host },
      'API keys are OFF (--insecure-no-auth): anyone who reaches the service can read and delete biometric data',
    );
  } else if (keys.size === 0) {
    logger.warn(
      'no API keys yet: the API is open to callers on this machine until one is created (facepipe keys create)',
    );
  }

  let analyzer: Promise<FaceAnalyzer> | undefined;
  const { analyzer: given } = options;
  const analyze =
    given === undefined
      ? undefined
      : async (input: ImageInput): Promise<ImageAnalysis> => {
          analyzer ??= (typeof given === 'function' ? given() : Promise.resolve(given)).then((a) => {
            if (a.model.id !== model.id)
              throw new Error(
                `the engine computes ${a.model.id} embeddings, the index holds ${model.id}: start both with the same --adapter`,
              );
            return a;
          });
          return (await analyzer).analyze(input);
        };

  const matches = new MatchStore(writer, matchKeyPrefix(config));
  const rule = new LiveIdentificationRule(new IdentificationSettingsStore(storage, model.id), {
    fallback: model.identification,
    overrides: options.rule,
    pollMs: options.rulePollMs,
    offsets: { store: new CohortOffsetsStore(storage, model.id), enabled: loadHubNormalisation() },
  });
  const app = buildIndexServer({
    index: () => service.current,
    threshold: model.threshold,
    rule: () => rule.current(),
    gates: loadQualityGates(),
    entryOffsets: () => rule.entryOffsets(),
    model: model.id,
    ready: () => service.isReady,
    loaded: () => service.isLoaded,
    analyze,
    onDeletePerson: async (personId) => {
      await service.recordDeletion(personId);
      await matches.forgetPerson(personId); // their sightings go with them
    },
    metrics: processMetricsRegistry(),
    auth: options.insecureNoAuth ? undefined : { keys, openWhileNoKeys: loopback },
    limits: options.limits,
    persons: { directory: () => service.directory, lastSeen: (personIds) => matches.lastSeen(personIds) },
  });
  const closeOps = registerDeploymentOps(app, {
    config,
    registry: processMetricsRegistry(),
    service,
    changeLog: new ChangeLog(writer, key),
  });
  registerIndexAdminRoutes(app, service);
  registerMatchRoutes(app, matches);
  // Photos uploaded for a person are enrolled by the workers, like any other.
  const enrollQueue = new Queue<EnrollJobData>(QUEUE_NAMES.enroll, queueConnectionOptions(config));
  const persons = new PersonService({
    service,
    gallery,
    matches,
    storage,
    storageUrl: config.storage,
    enrollQueue,
    maxPixels: options.limits?.maxPixels ?? HTTP_LIMIT_DEFAULTS.maxPixels,
  });
  registerPersonChangeRoutes(app, persons, () => service.current);
  // The console reads a face's source from the same person directory as the person routes.
  registerConsole(app, {
    storage,
    index: () => service.current,
    faceRecord: async (faceId) => service.faceRecord(faceId),
    maxPixels: options.limits?.maxPixels ?? HTTP_LIMIT_DEFAULTS.maxPixels,
  });

  await rule.start();
  // Listen first, load after: while a snapshot restores or the gallery is read (minutes for a large
  // one), /healthz answers, /readyz and the index routes answer 503 NOT_READY, GET /v1/index tells
  // what is happening; a refused connection would read as "down".
  await app.listen({ port: options.port, host: options.host });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  const url = `http://${options.host}:${port}`;
  logger.info({ url }, 'index service listening; loading the index');
  try {
    await service.start();
  } catch (err) {
    keys.stop();
    await app.close();
    await rule.stop();
    await closeOps();
    await enrollQueue.close();
    reader.disconnect();
    writer.disconnect();
    throw err;
  }
  logger.info({ url, faces: service.current.size }, 'index service loaded');

  return {
    url,
    service,
    async close() {
      keys.stop();
      await app.close();
      await rule.stop();
      await service.stop();
      await closeOps();
      await enrollQueue.close();
      reader.disconnect();
      writer.disconnect();
    },
  };
}
