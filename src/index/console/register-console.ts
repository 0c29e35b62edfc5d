import type { FastifyInstance } from 'fastify';
import type { GalleryStore } from '../../gallery/gallery-store.js';
import { RunStore } from '../../producers/run-store.js';
import { ResultStore } from '../../results/result-store.js';
import type { Storage } from '../../storage/storage.js';
import type { FaceIndex } from '../face-index.js';
import { registerConsoleAssets } from './console-assets.js';
import { registerConsoleImageRoutes } from './console-image-routes.js';
import { type FaceRecordLookup, GalleryFaceRecords } from './face-records.js';
import { ImageCache } from './image-cache.js';
import { RunBrowser } from './run-browser.js';
import { registerRunRoutes } from './run-routes.js';
import { SourceImages } from './source-images.js';

export interface ConsoleOptions {
  /** The deployment's storage (runs and results). */
  storage: Storage;
  gallery: GalleryStore;
  index: () => FaceIndex;
  maxPixels: number;
  /** One face's gallery record by id (default: read from `gallery`, see GalleryFaceRecords). */
  faceRecord?: FaceRecordLookup;
  /** Opens a source storage by URL (tests; default openSourceStorage). */
  images?: SourceImages;
  /** The built console's folder (default CONSOLE_BUNDLE_DIR). */
  bundleDir?: string;
}

/**
 * The web console on an index server (issue 23): its page and assets at `/`, the image routes and
 * the runs routes it reads. The app must be buildIndexServer's (its zod compilers, its auth hook).
 * `warm()` reads what the first thumbnails need ahead of time (the caller starts it once loaded).
 */
export function registerConsole(app: FastifyInstance, options: ConsoleOptions): { warm(): Promise<void> } {
  const records = options.faceRecord === undefined ? new GalleryFaceRecords(options.gallery) : undefined;
  const runs = new RunBrowser(new RunStore(options.storage), new ResultStore(options.storage));
  registerConsoleAssets(app, options.bundleDir);
  registerRunRoutes(app, runs);
  registerConsoleImageRoutes(app, {
    index: options.index,
    faceRecord: options.faceRecord ?? records!.lookup,
    runs,
    images: options.images ?? new SourceImages(),
    cache: new ImageCache(),
    maxPixels: options.maxPixels,
  });
  // What warms: the faces' sources read from the gallery once, before a page asks for a thumbnail.
  return { warm: async () => records?.refresh() };
}
