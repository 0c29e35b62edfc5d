import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, vi } from 'vitest';
import { openStorage } from '../../src/storage/open-storage.js';
import { S3Storage } from '../../src/storage/s3-storage.js';
import type { Storage } from '../../src/storage/storage.js';
import { startS3Server, type S3TestServer } from './s3-server.js';

export interface StorageImplementation {
  name: 'folder' | 's3';
  /** A fresh, empty storage for one test: its own sub-folder, or its own prefix in the bucket. */
  fresh: () => Storage;
}

export interface StorageImplementations {
  /** Random per run; names the bucket and the S3 prefixes. */
  runId: string;
  /** The temp folder under which the folder storages live (set once beforeAll has run). */
  readonly folderRoot: string;
  /** For `describe.each`: the folder storage and the S3 storage (s3rver). */
  implementations: StorageImplementation[];
}

/**
 * Registers beforeAll/afterAll hooks that create a temp folder and start s3rver with one bucket,
 * configuring the S3 storage the way users configure it: through the environment. Storages opened
 * through `fresh()` are destroyed afterwards. Call it at the top level of a test file.
 */
export function useStorageImplementations({
  bucketPrefix,
  folderPrefix,
}: {
  /** e.g. 'facepipe-test' gives the bucket 'facepipe-test-<runId>'. */
  bucketPrefix: string;
  /** Prefix of the temp folder's name. */
  folderPrefix: string;
}): StorageImplementations {
  const runId = randomBytes(4).toString('hex');
  const bucket = `${bucketPrefix}-${runId}`;
  let folderRoot: string;
  let s3: S3TestServer;
  const opened: Storage[] = [];

  beforeAll(async () => {
    folderRoot = await mkdtemp(path.join(tmpdir(), folderPrefix));
    s3 = await startS3Server([bucket]);
    vi.stubEnv('FACEPIPE_S3_ENDPOINT', s3.endpoint);
    vi.stubEnv('AWS_ACCESS_KEY_ID', s3.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', s3.secretAccessKey);
    vi.stubEnv('AWS_REGION', 'us-east-1');
  });

  afterAll(async () => {
    for (const storage of opened) if (storage instanceof S3Storage) storage.destroy();
    vi.unstubAllEnvs();
    await s3?.stop();
    if (folderRoot) await rm(folderRoot, { recursive: true, force: true });
  });

  let counter = 0;
  const track = (storage: Storage) => {
    opened.push(storage);
    return storage;
  };
  return {
    runId,
    get folderRoot() {
      return folderRoot;
    },
    implementations: [
      { name: 'folder', fresh: () => track(openStorage(path.join(folderRoot, `t${++counter}`))) },
      { name: 's3', fresh: () => track(openStorage(`s3://${bucket}/${runId}/t${++counter}`)) },
    ],
  };
}
