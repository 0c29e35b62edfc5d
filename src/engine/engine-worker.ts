/** Worker-thread body of the face engine: one tfjs instance and one set of models per thread. */
import './builtin-components.js';
import { AdapterModel } from './adapter-model.js';
import { createComponents } from './component-registry.js';
import { decodeImage } from './decode-image.js';
import type { FaceChips } from './embedder.js';
import type { DetectionResult, EmbedResult, EngineWorkerData } from './engine-types.js';
import { alignChips } from './face-alignment.js';
import { faceQuality, QUALITY_CHIP } from './face-quality.js';
import { StageTimer } from './stage-timer.js';
import { selectBackend } from './tf-backend.js';
import type { ImageInput } from './types.js';
import { serveTasks, withTransfer } from './worker-task-server.js';

serveTasks(async (data) => {
  const {
    backend: forced,
    onnxThreading,
    analyzer: options,
    maxPixels,
    adapter: adapterDir,
    card,
    plugins,
  } = data as EngineWorkerData;
  // Plugins register their components as they are imported, before the card's are looked up.
  for (const plugin of plugins) await import(plugin);
  const backend = await selectBackend(forced, { onnxThreading });
  const [{ detector, landmarks, embedder }, adapter] = await Promise.all([
    createComponents(card, { backend, options }),
    adapterDir === undefined ? undefined : AdapterModel.load(backend.tf, adapterDir),
  ]);
  return {
    backend: () => backend.name,

    /** Decode, detect, landmark and align: the per-image half of the work. */
    detect: async (input: ImageInput) => {
      const timer = new StageTimer();
      const image = await timer.time('decode', () => decodeImage(input, { maxPixels }));
      const found = await detector.detect(image, timer);
      const shapes = await landmarks.landmarks(image, found, timer);
      const result: DetectionResult = {
        width: image.width,
        height: image.height,
        faces: [],
        chips: [],
        timings: timer.timings,
      };
      if (image.exifTime) result.exifTime = image.exifTime;
      const started = performance.now();
      found.forEach(({ box, score }, i) => {
        // The quality chip comes first: when the embedder takes the same chip it is warped once.
        const [qualityChip, ...chips] = alignChips(image, shapes[i], [QUALITY_CHIP, ...embedder.chips]);
        const quality = faceQuality(box, shapes[i].landmarks, qualityChip, QUALITY_CHIP.size);
        result.faces.push({ box, score, landmarks: shapes[i].landmarks, quality });
        result.chips.push(chips);
      });
      if (found.length > 0) timer.add('align', performance.now() - started);
      return withTransfer(result, result.chips.flat());
    },

    /** One forward pass over the faces of any number of images and callers. */
    embed: async (chips: FaceChips[]) => {
      const timer = new StageTimer();
      const base = await timer.time('embed', () => embedder.embed(chips, timer));
      // A fused embedder times its parts: the total is then theirs.
      if (Object.keys(timer.timings).length > 1) delete timer.timings.embed;
      const embeddings = adapter ? await timer.time('embed.adapter', () => adapter.adapt(base)) : base;
      const result: EmbedResult = { embeddings, timings: timer.timings };
      return withTransfer(result, embeddings);
    },
  };
});
