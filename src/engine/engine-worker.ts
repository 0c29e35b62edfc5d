/** Worker-thread body of the face engine: one tfjs instance and one set of models per thread. */
import { decodeImage } from './decode-image.js';
import { DlibShapePredictor } from './dlib-shape-predictor.js';
import type { DetectionResult, EngineWorkerData } from './engine-types.js';
import { FaceDetector } from './face-detector.js';
import { RESNET_CHIP } from './face-alignment.js';
import { FaceEmbedder, type FaceChips } from './face-embedder.js';
import { faceQuality } from './face-quality.js';
import { DLIB_FIVE_POINT_MODEL, FACERES_MODEL, loadFaceApi, loadGraphModel } from './face-models.js';
import { selectBackend } from './tf-backend.js';
import { EmbeddingAdapter } from '../training/embedding-adapter.js';
import type { ImageInput } from './types.js';
import { serveTasks, withTransfer } from './worker-task-server.js';

serveTasks(async (data) => {
  const { backend: forced, analyzer: options, maxPixels, adapter: adapterDir } = data as EngineWorkerData;
  const backend = await selectBackend(forced);
  const [faceapi, faceres, fivePointModel, adapter] = await Promise.all([
    loadFaceApi(backend),
    loadGraphModel(backend.tf, FACERES_MODEL),
    DlibShapePredictor.load(DLIB_FIVE_POINT_MODEL),
    adapterDir === undefined ? undefined : EmbeddingAdapter.load(backend.tf, adapterDir),
  ]);
  const detector = new FaceDetector(backend.tf, faceapi, options);
  const embedder = new FaceEmbedder(backend.tf, faceapi, faceres, fivePointModel, options);
  return {
    backend: () => backend.name,

    /** Decode, detect, landmark and align: the per-image half of the work. */
    detect: async (input: ImageInput) => {
      const image = await decodeImage(input, { maxPixels });
      const detected = await detector.detect(image);
      const chips = detected.map((face) => embedder.chips(image, face.landmarks));
      const faces = detected.map((face, i) => ({ ...face, quality: faceQuality(face.box, face.landmarks, chips[i].resnet[0], RESNET_CHIP.size) }));
      const result: DetectionResult = { width: image.width, height: image.height, faces, chips };
      return withTransfer(result, chips.flatMap((c) => [...c.resnet, c.faceres]));
    },

    /** One forward pass over the faces of any number of images and callers. */
    embed: async (chips: FaceChips[]) => {
      const base = await embedder.embed(chips);
      const embeddings = adapter ? adapter.adapt(base) : base;
      return withTransfer(embeddings, embeddings);
    },
  };
});
