export type { ListOptions, ListPage, PutOptions, Storage, StorageObject } from './storage.js';
export { DEFAULT_LIST_LIMIT } from './storage.js';
export { StorageNotFoundError } from './storage-not-found-error.js';
export { InvalidStorageKeyError } from './invalid-storage-key-error.js';
export { FolderStorage } from './folder-storage.js';
export { S3Storage, clientConfigFromEnv, type S3StorageOptions } from './s3-storage.js';
export { DEFAULT_STORAGE_URL, openStorage } from './open-storage.js';
export { canonicalStorageUrl, storageUrlScheme } from './storage-url.js';
export { listAll } from './list-all.js';
