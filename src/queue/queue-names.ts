import type { AppConfig } from '../config/app-config.js';
import { canonicalStorageUrl } from '../storage/storage-url.js';
import { shortHash } from '../util/short-hash.js';

/** The BullMQ queues of facepipe (DESIGN.md, "Processes"). */
export const QUEUE_NAMES = {
  enroll: 'enroll',
  identify: 'identify',
  schedule: 'schedule',
} as const;

export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];

/** What `new Queue(name, ...)` / `new Worker(name, ...)` need besides the name. */
export interface QueueConnectionOptions {
  connection: { url: string };
  prefix: string;
}

/**
 * BullMQ `{ connection, prefix }` of a deployment: `<queuePrefix>:<storageTag>`. A deployment is a
 * queue prefix AND a storage: two that share a Redis and differ in either must never see (take) or
 * suppress each other's jobs, since "already done" is a property of one storage's gallery.
 */
export function queueConnectionOptions(
  config: Pick<AppConfig, 'redisUrl' | 'queuePrefix' | 'storage'>,
): QueueConnectionOptions {
  return { connection: { url: config.redisUrl }, prefix: `${config.queuePrefix}:${storageTag(config.storage)}` };
}

/** 12 hex digits of sha256 over the canonical storage URL: short enough for job ids, no ':'. */
export function storageTag(storage: string): string {
  return shortHash(canonicalStorageUrl(storage), 12);
}

/** Redis key of the gallery change log of one deployment and model (see ChangeLog). */
export function changeLogKey(config: Pick<AppConfig, 'queuePrefix' | 'storage'>, model: string): string {
  return `${config.queuePrefix}:${storageTag(config.storage)}:changes:${model}`;
}

/** Redis hash of the API keys of one deployment (field: key id; value: role, SHA-256, created; see ApiKeyStore). */
export function apiKeysKey(config: Pick<AppConfig, 'queuePrefix' | 'storage'>): string {
  return `${config.queuePrefix}:${storageTag(config.storage)}:apikeys`;
}

/** Prefix of the Redis keys of the person sightings ("where was person X seen?") of one deployment (see MatchStore). */
export function matchKeyPrefix(config: Pick<AppConfig, 'queuePrefix' | 'storage'>): string {
  return `${config.queuePrefix}:${storageTag(config.storage)}:matches`;
}
