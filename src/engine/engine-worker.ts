/** Worker-thread body of the face engine: one tfjs instance and one set of models per thread. */
import { decodeImage } from './decode-image.js';
import type { DetectionResult, EngineWorkerData } from './engine-types.js';
import { FaceDetector } from './face-detector.js';
import { FaceEmbedder, type FaceChips } from './face-embedder.js';
import { FACERES_MODEL, loadFaceApi, loadGraphModel } from './face-models.js';
import { selectBackend } from './tf-backend.js';
import type { ImageInput } from './types.js';
import { serveTasks, withTransfer } from './worker-task-server.js';

serveTasks(async (data) => {
  const { backend: forced, analyzer: options, maxPixels } = data as EngineWorkerData;
  const backend = await selectBackend(forced);
  const [faceapi, faceres] = await Promise.all([loadFaceApi(backend), loadGraphModel(backend.tf, FACERES_MODEL)]);
  const detector = new FaceDetector(backend.tf, faceapi, options);
  const embedder = new FaceEmbedder(backend.tf, faceapi, faceres, options);
  return {
    backend: () => backend.name,

    /** Decode, detect, landmark and align: the per-image half of the work. */
    detect: async (input: ImageInput) => {
      const image = await decodeImage(input, { maxPixels });
      const faces = await detector.detect(image);
      const chips = faces.map((face) => embedder.chips(image, face.landmarks));
      const result: DetectionResult = { width: image.width, height: image.height, faces, chips };
      return withTransfer(result, chips.flatMap((c) => [...c.resnet, c.faceres]));
    },

    /** One forward pass over the faces of any number of images and callers. */
    embed: async (chips: FaceChips[]) => {
      const embeddings = await embedder.embed(chips);
      return withTransfer(embeddings, embeddings);
    },
  };
});
