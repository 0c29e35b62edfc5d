/**
 * The detections of a run that nobody was named for (personId null, in results without an error):
 * the deployment's own junk and strangers, the best cohort for `facepipe gallery hubs` since they
 * land where this deployment's junk lands. Results hold no embeddings: the caller embeds the boxes
 * again from the inputs.
 */
import type { ResultStore } from './result-store.js';
import type { ResultJson } from './result-types.js';

export interface UnmatchedDetections {
  /** The input's key, relative to the run's source. */
  inputKey: string;
  boxes: Array<ResultJson['faces'][number]['box']>;
}

/** Per result of the run with at least one unnamed face: the input key and those faces' boxes. */
export async function* unmatchedDetections(results: ResultStore, run: string): AsyncGenerator<UnmatchedDetections> {
  for await (const { result } of results.read(run)) {
    if (result.error !== null) continue;
    const boxes = result.faces.filter((f) => f.personId === null).map((f) => f.box);
    if (boxes.length > 0) yield { inputKey: result.input.key, boxes };
  }
}
