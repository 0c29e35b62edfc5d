import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { parseS3Url } from './parse-s3-url.js';
import {
  type ListOptions,
  type ListPage,
  type PutOptions,
  type Storage,
  type StorageObject,
  listLimit,
} from './storage.js';
import { StorageNotFoundError } from './storage-not-found-error.js';

export interface S3StorageOptions {
  /** Defaults to process.env. Read: FACEPIPE_S3_ENDPOINT, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL,
   * FACEPIPE_S3_PATH_STYLE, AWS_REGION, AWS_DEFAULT_REGION (credentials: the SDK's own chain). */
  env?: NodeJS.ProcessEnv;
  /** Extra client settings; they win over the ones derived from the environment. */
  clientConfig?: S3ClientConfig;
}

/**
 * Storage under an `s3://bucket/prefix` URL; keys are relative to the prefix. Works with AWS
 * and S3-compatible stores (MinIO, Ceph, R2, s3rver): set FACEPIPE_S3_ENDPOINT (or the SDK's
 * AWS_ENDPOINT_URL) and path-style addressing is used unless FACEPIPE_S3_PATH_STYLE=false.
 */
export class S3Storage implements Storage {
  readonly url: string;
  readonly bucket: string;
  /** '' or ends with '/'. */
  readonly prefix: string;
  readonly client: S3Client;

  constructor(url: string, options: S3StorageOptions = {}) {
    const { bucket, prefix } = parseS3Url(url);
    this.bucket = bucket;
    this.prefix = prefix;
    this.url = `s3://${bucket}/${prefix}`;
    this.client = new S3Client({ ...clientConfigFromEnv(options.env ?? process.env), ...options.clientConfig });
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    const limit = listLimit(options.limit);
    const out = await this.client.send(
      new ListObjectsV2Command({
        Bucket: this.bucket,
        Prefix: this.prefix + prefix,
        MaxKeys: Math.min(limit, 1000),
        ContinuationToken: options.cursor,
      }),
    );
    const items: StorageObject[] = [];
    for (const object of out.Contents ?? []) {
      if (object.Key === undefined || !object.Key.startsWith(this.prefix)) continue;
      const key = object.Key.slice(this.prefix.length);
      if (key === '' || key.endsWith('/')) continue; // "folder" markers made by consoles
      items.push({
        key,
        size: object.Size ?? 0,
        etag: cleanEtag(object.ETag),
        modified: object.LastModified ?? new Date(0),
      });
    }
    return out.IsTruncated && out.NextContinuationToken ? { items, cursor: out.NextContinuationToken } : { items };
  }

  async get(key: string): Promise<Uint8Array> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      if (!out.Body) return new Uint8Array();
      return await out.Body.transformToByteArray();
    } catch (err) {
      if (errorName(err) === 'NoSuchKey' || httpStatus(err) === 404) throw new StorageNotFoundError(key, this.url);
      throw err;
    }
  }

  async put(key: string, body: Uint8Array | string, options: PutOptions = {}): Promise<{ etag: string }> {
    const out = await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.objectKey(key),
        Body: body,
        ContentType: options.contentType,
      }),
    );
    return { etag: cleanEtag(out.ETag) };
  }

  async head(key: string): Promise<StorageObject | null> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      return {
        key,
        size: out.ContentLength ?? 0,
        etag: cleanEtag(out.ETag),
        modified: out.LastModified ?? new Date(0),
      };
    } catch (err) {
      if (errorName(err) === 'NotFound' || errorName(err) === 'NoSuchKey' || httpStatus(err) === 404) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    // S3 answers 204 for a missing key too.
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
  }

  /** Closes the client's sockets. */
  destroy(): void {
    this.client.destroy();
  }

  private objectKey(key: string): string {
    if (typeof key !== 'string' || key === '') throw new Error('storage key must be a non-empty string');
    return this.prefix + key;
  }
}

/** Client settings from the standard AWS environment plus FACEPIPE_S3_ENDPOINT / FACEPIPE_S3_PATH_STYLE. */
export function clientConfigFromEnv(env: NodeJS.ProcessEnv): S3ClientConfig {
  const endpoint = env.FACEPIPE_S3_ENDPOINT || env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  const pathStyle = env.FACEPIPE_S3_PATH_STYLE;
  const forcePathStyle =
    pathStyle !== undefined && pathStyle !== '' ? !/^(false|0|no)$/i.test(pathStyle) : endpoint !== undefined;
  // S3-compatible servers rarely care about the region, but the SDK refuses to sign without one.
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || (endpoint ? 'us-east-1' : undefined);
  return {
    ...(endpoint ? { endpoint } : {}),
    ...(region ? { region } : {}),
    forcePathStyle,
    // Newer SDKs add CRC checksums (and aws-chunked streaming bodies) to every request;
    // MinIO/s3rver and older S3-compatible stores mishandle them. Only when an operation requires it.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
}

function cleanEtag(etag: string | undefined): string {
  return (etag ?? '').replace(/^W\//, '').replace(/^"|"$/g, '');
}

function errorName(err: unknown): string | undefined {
  return (err as { name?: string } | undefined)?.name;
}

function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}
