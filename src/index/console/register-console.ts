import type { FastifyInstance } from 'fastify';
import { RunStore } from '../../producers/run-store.js';
import { ResultStore } from '../../results/result-store.js';
import type { Storage } from '../../storage/storage.js';
import type { FaceIndex } from '../face-index.js';
import { registerConsoleAssets } from './console-assets.js';
import { registerConsoleImageRoutes } from './console-image-routes.js';
import type { FaceRecordLookup } from './face-records.js';
import { ImageCache } from './image-cache.js';
import { RunBrowser } from './run-browser.js';
import { registerRunRoutes } from './run-routes.js';
import { SourceImages } from './source-images.js';

export interface ConsoleOptions {
  /** The deployment's storage (runs and results). */
  storage: Storage;
  index: () => FaceIndex;
  maxPixels: number;
  /** One face's gallery record by id (the service's person directory: IndexService.faceRecord). */
  faceRecord: FaceRecordLookup;
  /** Opens a source storage by URL (tests; default openSourceStorage). */
  images?: SourceImages;
  /** The built console's folder (default CONSOLE_BUNDLE_DIR). */
  bundleDir?: string;
}

/**
 * The web console on an index server (issue 23): its page and assets at `/`, the image routes and
 * the runs routes it reads. The app must be buildIndexServer's (its zod compilers, its auth hook).
 */
export function registerConsole(app: FastifyInstance, options: ConsoleOptions): void {
  const runs = new RunBrowser(new RunStore(options.storage), new ResultStore(options.storage));
  registerConsoleAssets(app, options.bundleDir);
  registerRunRoutes(app, runs);
  registerConsoleImageRoutes(app, {
    index: options.index,
    faceRecord: options.faceRecord,
    runs,
    images: options.images ?? new SourceImages(),
    cache: new ImageCache(),
    maxPixels: options.maxPixels,
  });
}
