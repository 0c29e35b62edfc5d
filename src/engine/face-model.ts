import type { ModelCard } from './model-card.js';

/**
 * The shipped model: what the defaults compute.
 *
 * threshold: the one `facepipe evaluate ../shared/datasets/lfw-dev --pairs
 * ../shared/datasets/lfw-dev/pairs.txt --json` picks on all 3,000 pairs of LFW View-2 folds 1-5
 * with these defaults (0.649 for facepipe-fused-v2; cross-validated accuracy in README.md). Verification only: 1:N
 * identification needs its own, stricter rule.
 */
export const FACE_MODEL_CARD: ModelCard = {
  id: 'facepipe-fused-v2',
  components: { detector: 'face-api', landmarks: 'face-api-68+dlib-5', embedder: 'dlib-resnet+human-faceres' },
  detector:
    'auto: face-api tiny detector (320, 25% margin) with SSD-MobileNet v1 fallback; for frames over 640 px SSD on the frame and on overlapping 720 px tiles',
  embedder:
    'dlib ResNet-34 128-D (float32 weights, in face-api) averaged over chips aligned on dlib five-point landmarks and on 51 face-api landmarks and their mirrors, joined with Human FaceRes 1024-D (weight 0.25); Euclidean distance',
  distance: 'euclidean',
  threshold: 0.65,
  /** 128 ResNet values, then 1024 FaceRes values. */
  embeddingSize: 1152,
  /**
   * The 1:N rule (src/identification/identification-rule.ts), calibrated for a false-identification
   * rate under 1% in a gallery of about 1,800 people (one photo each) on CCTV-like snapshots, with
   * `npm run bench:identify` on two nights built from ../shared/datasets/lfw-dev (seeds 1 and 2: 584
   * stranger faces, 876 faces of enrolled people). From 0.30 to 0.335 the nights let the same 3
   * strangers through while TPIR rises; at 0.34 night 1 lets 5 through (1.75%). 0.32 keeps clear of
   * that step: TPIR 0.56 / 0.46, FPIR 0.35% / 0.67%; on LFW open-set (gallery 413) TPIR 0.78 at
   * FPIR 0.72%. A larger gallery needs a lower threshold for the same rate (more look-alikes).
   * Checked again for facepipe-fused-v2 (dlib's five points and float32 weights): night 1 TPIR
   * 0.557, FPIR 0.70% (2 of 285); LFW open-set TPIR 0.779 at FPIR 0.77%.
   */
  identification: { threshold: 0.32, marginWeight: 1.5 },
};

/**
 * The shipped card as JSON outputs have always reported it (detect --json, evaluate's result
 * files): these fields, in this order.
 */
export const FACE_MODEL = {
  id: FACE_MODEL_CARD.id,
  detector: FACE_MODEL_CARD.detector,
  embedder: FACE_MODEL_CARD.embedder,
  threshold: FACE_MODEL_CARD.threshold,
  embeddingSize: FACE_MODEL_CARD.embeddingSize,
  identification: FACE_MODEL_CARD.identification,
} as const;
