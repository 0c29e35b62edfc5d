import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FolderStorage } from '../src/storage/folder-storage.js';
import { openStorage } from '../src/storage/open-storage.js';
import { S3Storage, clientConfigFromEnv } from '../src/storage/s3-storage.js';
import { parseS3Url } from '../src/storage/parse-s3-url.js';

describe('openStorage', () => {
  it('opens ./data by default, resolved to an absolute folder', () => {
    const storage = openStorage() as FolderStorage;
    expect(storage).toBeInstanceOf(FolderStorage);
    expect(storage.root).toBe(path.resolve('data'));
    expect(storage.url).toBe(pathToFileURL(path.resolve('data')).href);
  });

  it('opens plain paths and file:// URLs as folders', () => {
    expect((openStorage('some/dir') as FolderStorage).root).toBe(path.resolve('some/dir'));
    expect((openStorage('file:///tmp/photos') as FolderStorage).root).toBe('/tmp/photos');
  });

  it('opens s3:// URLs as S3 with the prefix normalised', () => {
    const storage = openStorage('s3://bucket/cctv/2026', { env: { AWS_REGION: 'eu-west-1' } }) as S3Storage;
    expect(storage).toBeInstanceOf(S3Storage);
    expect(storage.bucket).toBe('bucket');
    expect(storage.prefix).toBe('cctv/2026/');
    expect(storage.url).toBe('s3://bucket/cctv/2026/');
    storage.destroy();
    expect(parseS3Url('s3://bucket')).toEqual({ bucket: 'bucket', prefix: '' });
    expect(parseS3Url('s3://bucket/')).toEqual({ bucket: 'bucket', prefix: '' });
  });

  it('refuses other schemes clearly', () => {
    expect(() => openStorage('gs://bucket/x')).toThrow(/unsupported storage URL.*s3:\/\/bucket\/prefix/);
    expect(() => openStorage('https://example.com/x')).toThrow(/unsupported storage URL/);
    expect(() => openStorage('s3://')).toThrow(/not an S3 URL/);
  });
});

describe('S3 client settings from the environment', () => {
  it('uses FACEPIPE_S3_ENDPOINT with path-style addressing and a default region', () => {
    expect(clientConfigFromEnv({ FACEPIPE_S3_ENDPOINT: 'http://minio:9000' })).toMatchObject({
      endpoint: 'http://minio:9000',
      forcePathStyle: true,
      region: 'us-east-1',
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  });

  it('falls back to AWS_ENDPOINT_URL, and path style can be turned off', () => {
    expect(
      clientConfigFromEnv({
        AWS_ENDPOINT_URL: 'https://acc.r2.cloudflarestorage.com',
        AWS_REGION: 'auto',
        FACEPIPE_S3_PATH_STYLE: 'false',
      }),
    ).toMatchObject({ endpoint: 'https://acc.r2.cloudflarestorage.com', region: 'auto', forcePathStyle: false });
  });

  it('leaves plain AWS to the SDK defaults', () => {
    const config = clientConfigFromEnv({});
    expect(config.endpoint).toBeUndefined();
    expect(config.region).toBeUndefined();
    expect(config.forcePathStyle).toBe(false);
  });
});
