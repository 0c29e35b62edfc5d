import { UnrecoverableError } from 'bullmq';
import type { SourceJobData } from '../queue/jobs.js';
import { openStorage } from '../storage/open-storage.js';
import type { Storage } from '../storage/storage.js';
import { canonicalStorageUrl } from '../storage/storage-url.js';

export interface JobSourcesOptions {
  /** The deployment's storage URL: a job of another deployment is refused. */
  storageUrl: string;
  /** The worker's embedding model id: a job of another model is refused. */
  model: string;
  /** What the jobs do, for the refusal message: 'enrolls', 'identifies'. */
  verb: string;
  /** Opens a source storage by URL (default openStorage). */
  openSource?: (url: string) => Storage;
}

/**
 * The start of every job that reads images from a source (enroll, identify): refuse a job of
 * another deployment or model for good (no retry can make it this worker's), then open its
 * source, once per URL for the life of the process.
 */
export class JobSources {
  private readonly storageUrl: string;
  private readonly opened = new Map<string, Storage>();
  private readonly openSource: (url: string) => Storage;

  constructor(private readonly options: JobSourcesOptions) {
    this.storageUrl = canonicalStorageUrl(options.storageUrl);
    this.openSource = options.openSource ?? ((url) => openStorage(url));
  }

  /** The job's source storage, once the job is known to be this deployment's and model's. */
  open(jobId: string, data: SourceJobData): Storage {
    if (data.storageUrl !== this.storageUrl) {
      throw new UnrecoverableError(
        `job ${jobId} belongs to the deployment at ${data.storageUrl}, this worker serves ${this.storageUrl}`,
      );
    }
    if (data.model !== this.options.model) {
      throw new UnrecoverableError(
        `job ${jobId} ${this.options.verb} with model ${data.model}, this worker runs ${this.options.model}`,
      );
    }
    const known = this.opened.get(data.sourceUrl);
    if (known !== undefined) return known;
    const storage = this.openSource(data.sourceUrl);
    this.opened.set(data.sourceUrl, storage);
    return storage;
  }
}
