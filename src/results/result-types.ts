/**
 * The identification result of one input image: `facepipe/results/<run>/<input key>.json`
 * (DESIGN.md, "Result JSON"; schema id facepipe.result/v1, JSON Schema in schemas/result.schema.json).
 * Users' scripts rely on this shape: change it only on purpose, with a new schema id.
 */
export const RESULT_SCHEMA_ID = 'facepipe.result/v1';

export interface ResultMatch {
  personId: string;
  faceId: string;
  /** Euclidean distance between the probe face's and the gallery face's embeddings. */
  distance: number;
}

export interface ResultFace {
  box: { x: number; y: number; width: number; height: number };
  score: number;
  /** Five points: eye centres (subject's right, then left in image order), nose tip, mouth corners. */
  landmarks: [number, number][];
  quality: {
    /** Shorter side of the face box, px. */
    size: number;
    /** 0 sharp .. 1 very blurred. */
    blur: number;
    /** 0 frontal .. 1 profile (from the landmarks' asymmetry). */
    pose: number;
  };
  /** Closest gallery persons, one entry per person, ascending distance. */
  matches: ResultMatch[];
  /** The decision: the identified person, or null for nobody in the gallery. */
  personId: string | null;
}

export interface ResultJson {
  schema: typeof RESULT_SCHEMA_ID;
  /**
   * `modified`: the snapshot object's last-modified time (ISO 8601), for CCTV uploads about when it
   * was taken; "when was the person seen" comes from it. An addition to DESIGN.md's format.
   */
  input: { key: string; etag: string; width: number; height: number; modified?: string };
  model: { id: string; detector: string; embedder: string; threshold: number };
  /** ISO 8601. */
  processedAt: string;
  faces: ResultFace[];
  error: { code: string; message: string } | null;
}
