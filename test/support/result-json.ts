import { RESULT_SCHEMA_ID, type ResultFace, type ResultJson } from '../../src/results/result-types.js';

export interface FaceSpec {
  /** The decision; null for nobody. */
  personId: string | null;
  /** Distance of the decided person's match (default 0.3). */
  distance?: number;
  box?: ResultFace['box'];
}

/**
 * A facepipe.result/v1 result (src/results/result-types.ts) for `inputKey` with the given faces.
 * `modified` becomes `input.modified` (the snapshot's last-modified time) when given.
 */
export function resultJson(
  inputKey: string,
  faces: FaceSpec[],
  options: { processedAt?: string; modified?: string } = {},
): ResultJson {
  const input: ResultJson['input'] = { key: inputKey, etag: `etag-${inputKey}`, width: 1920, height: 1080 };
  if (options.modified !== undefined) input.modified = options.modified;
  return {
    schema: RESULT_SCHEMA_ID,
    input,
    model: { id: 'test-model', detector: 'ssd', embedder: 'test-embedder', threshold: 0.6 },
    processedAt: options.processedAt ?? '2026-11-29T02:15:07.120Z',
    faces: faces.map((spec, i): ResultFace => {
      const matches = [
        ...(spec.personId === null
          ? []
          : [{ personId: spec.personId, faceId: `${spec.personId}-f0`, distance: spec.distance ?? 0.3 }]),
        { personId: 'someone-else', faceId: 'someone-else-f0', distance: 0.9 },
      ];
      return {
        box: spec.box ?? { x: 100 * i, y: 20, width: 96, height: 118 },
        score: 0.97,
        landmarks: [
          [1, 2],
          [3, 4],
          [5, 6],
          [7, 8],
          [9, 10],
        ],
        quality: { size: 96, blur: 0.1, pose: 0.2 },
        matches,
        personId: spec.personId,
      };
    }),
    error: null,
  };
}

/** A result of an input that could not be processed: no faces, an error. */
export function failedResultJson(inputKey: string, processedAt = '2026-11-29T02:15:07.120Z'): ResultJson {
  return {
    ...resultJson(inputKey, [], { processedAt }),
    error: { code: 'NOT_AN_IMAGE', message: `${inputKey}: not an image` },
  };
}
