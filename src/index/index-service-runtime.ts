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
import { logger } from '../logger.js';
import { MatchStore } from '../matches/match-store.js';
import { ChangeLog } from '../queue/change-log.js';
import { changeLogKey, matchKeyPrefix } from '../queue/queue-names.js';
import { openStorage } from '../storage/open-storage.js';
import { registerIndexAdminRoutes } from './index-admin-routes.js';
import { buildIndexServer } from './index-http-server.js';
import { IndexService, type IndexServiceOptions } from './index-service.js';
import { IndexSnapshotStore } from './index-snapshot-store.js';
import { registerMatchRoutes } from './match-routes.js';

export interface IndexServiceRuntimeOptions {
  port: number;
  host: string;
  ef?: number;
  /** The engine for /v1/identify and /v1/verify; started on first use when given as a factory. */
  analyzer?: FaceAnalyzer | (() => Promise<FaceAnalyzer>);
  /** The embedding model served (default: the engine's, without adapter): names the gallery, snapshots and change log. */
  model?: EmbeddingModel;
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
  const storage = openStorage(config.storage);
  const gallery = new GalleryStore(storage, model.id);
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

  const rule = new LiveIdentificationRule(new IdentificationSettingsStore(storage, model.id), {
    fallback: model.identification,
    overrides: options.rule,
    pollMs: options.rulePollMs,
  });
  const app = buildIndexServer({
    index: () => service.current,
    threshold: model.threshold,
    rule: () => rule.current(),
    model: model.id,
    ready: () => service.isReady,
    analyze,
    onDeletePerson: (personId) => service.recordDeletion(personId),
  });
  registerIndexAdminRoutes(app, service);
  registerMatchRoutes(app, new MatchStore(writer, matchKeyPrefix(config)));

  await rule.start();
  await service.start();
  await app.listen({ port: options.port, host: options.host });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  const url = `http://${options.host}:${port}`;
  logger.info({ url, faces: service.current.size }, 'index service listening');

  return {
    url,
    service,
    async close() {
      await app.close();
      await rule.stop();
      await service.stop();
      reader.disconnect();
      writer.disconnect();
    },
  };
}
