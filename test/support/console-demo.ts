import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { loadAppConfig } from '../../src/config/app-config.js';
import { buildDemoData, type DemoData } from '../../src/demo/demo-data.js';
import { FaceEngine } from '../../src/engine/face-engine.js';
import { ApiKeyStore } from '../../src/index/auth/api-key-store.js';
import { API_KEY_ENV } from '../../src/index/index-client.js';
import { runEnroll, type EnrollRunSummary } from '../../src/producers/enroll-run.js';
import { runIdentify } from '../../src/producers/identify-run.js';
import { apiKeysKey } from '../../src/queue/queue-names.js';
import { ResultStore } from '../../src/results/result-store.js';
import type { ResultJson } from '../../src/results/result-types.js';
import { openStorage } from '../../src/storage/open-storage.js';
import { startTestPipeline, type TestPipeline } from './pipeline.js';

/** The run id the demo gives its night. */
export const DEMO_RUN = 'demo-night';

/** `npm run demo`'s deployment, left running for the console: its data enrolled and identified. */
export interface ConsoleDemo {
  url: string;
  /** An admin key of the deployment (the console's rename and the workers use it). */
  key: string;
  data: DemoData;
  pipeline: TestPipeline;
  /** The night's result files, by snapshot key. */
  results: Map<string, ResultJson>;
  close(): Promise<void>;
}

/**
 * Builds the demo's six people and four snapshots (src/demo/demo-data.ts), starts the index service
 * and workers under a random queue prefix with an admin API key, enrolls and identifies them as
 * `npm run demo` does, and leaves the service running.
 */
export async function startConsoleDemo(options: { threads?: number } = {}): Promise<ConsoleDemo> {
  const dir = await mkdtemp(path.join(tmpdir(), 'facepipe-console-'));
  const config = loadAppConfig({
    storage: path.join(dir, 'data'),
    queuePrefix: `fptest-${randomBytes(4).toString('hex')}`,
  });
  const redis = new Redis(config.redisUrl);
  const savedKey = process.env[API_KEY_ENV];
  let engine: FaceEngine | undefined;
  let pipeline: TestPipeline | undefined;
  const close = async () => {
    await pipeline?.close();
    await engine?.close();
    const left = await redis.keys(`${config.queuePrefix}:*`);
    if (left.length > 0) await redis.del(...left);
    redis.disconnect();
    if (savedKey === undefined) delete process.env[API_KEY_ENV];
    else process.env[API_KEY_ENV] = savedKey;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // A key before the service starts: it then refuses every call without one, as deployed.
    const { key } = await new ApiKeyStore(redis, apiKeysKey(config)).create('admin');
    process.env[API_KEY_ENV] = key; // the workers' IndexClient sends it
    engine = await FaceEngine.start({ threads: options.threads ?? 1 });
    const data = await buildDemoData(engine, dir);
    pipeline = await startTestPipeline(config, engine);
    const served = pipeline.config;
    const enrolled = (await runEnroll(served, {
      model: engine.model,
      source: data.gallery,
      wait: true,
    })) as EnrollRunSummary;
    while (pipeline.index.service.current.size < enrolled.enrolled) await new Promise((r) => setTimeout(r, 50));
    await runIdentify(served, { model: engine.model, source: data.night, run: DEMO_RUN, wait: true });
    const results = new Map<string, ResultJson>();
    for await (const { result } of new ResultStore(openStorage(served.storage)).read(DEMO_RUN))
      results.set(result.input.key, result);
    return { url: pipeline.index.url, key, data, pipeline, results, close };
  } catch (err) {
    await close();
    throw err;
  }
}
