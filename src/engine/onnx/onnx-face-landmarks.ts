import type * as ort from 'onnxruntime-node';
import { DlibShapePredictor } from '../dlib-shape-predictor.js';
import { fiveOf68 } from '../face-alignment.js';
import type { FoundFace } from '../face-detector-model.js';
import type { FaceLandmarks, LandmarkModel } from '../landmark-model.js';
import { type StageTimer, timed } from '../stage-timer.js';
import type { Point, RgbImage } from '../types.js';
import { faceCrop } from './face-crop.js';
import {
  buildLandmark68Graph,
  LANDMARK68_INPUT,
  LANDMARK68_OUTPUT,
  LANDMARK68_SIZE,
  landmark68Key,
  readLandmark68Weights,
} from './face-landmark68-graph.js';
import { cachedOnnxModel } from './onnx-model-cache.js';
import { createOnnxSession, runOnnx } from './onnx-session.js';
import type { OnnxModelOptions } from './onnx-types.js';

/**
 * face-api's 68-point landmark net on onnxruntime (every face of an image in one pass), then dlib's
 * five-point model started from those 68 points: what FaceApiLandmarks gives, without tfjs.
 */
export class OnnxFaceLandmarks implements LandmarkModel {
  constructor(
    private readonly session: ort.InferenceSession,
    private readonly fivePointModel: DlibShapePredictor,
  ) {}

  /** Builds the graph into `model.cacheDir` unless it is there, and opens a session on it. */
  static async load(
    files: { faceApiModelDir: string; fivePointModel: string },
    model: OnnxModelOptions,
  ): Promise<OnnxFaceLandmarks> {
    const [key, fivePointModel] = await Promise.all([
      landmark68Key(files.faceApiModelDir),
      DlibShapePredictor.load(files.fivePointModel),
    ]);
    const file = await cachedOnnxModel(model.cacheDir, 'face-landmark68', key, async () =>
      buildLandmark68Graph(await readLandmark68Weights(files.faceApiModelDir)),
    );
    return new OnnxFaceLandmarks(await createOnnxSession(file, model), fivePointModel);
  }

  async landmarks(image: RgbImage, faces: readonly FoundFace[], timer?: StageTimer): Promise<FaceLandmarks[]> {
    if (faces.length === 0) return [];
    const marks = await timed(timer, 'landmarks.68', () => this.landmarks68(image, faces));
    return timed(timer, 'landmarks.five', () =>
      marks.map((landmarks) => ({
        landmarks,
        five: this.fivePointModel.predict(image, this.fivePointModel.boxFor(fiveOf68(landmarks))),
      })),
    );
  }

  /** The 68 points of every face, in image pixels: one pass over all the faces. */
  private async landmarks68(image: RgbImage, faces: readonly FoundFace[]): Promise<Point[][]> {
    const size = LANDMARK68_SIZE;
    const crops = faces.map(({ box }) => faceCrop(image, box, size));
    const input = new Float32Array(crops.length * size * size * 3);
    crops.forEach((crop, i) => {
      input.set(crop.pixels, i * crop.pixels.length);
    });
    const output = await runOnnx(
      this.session,
      { name: LANDMARK68_INPUT, data: input, dims: [crops.length, size, size, 3] },
      LANDMARK68_OUTPUT,
    );
    return faces.map((face, i) => this.toImage(output.subarray(i * 136, (i + 1) * 136), crops[i], face));
  }

  /**
   * face-api's postProcess and FaceLandmarks68: the net's output (relative to the padded square)
   * relative to the crop, in crop pixels, shifted by the face box's corner (as FaceApiLandmarks does).
   */
  private toImage(relative: Float32Array, crop: { width: number; height: number }, face: FoundFace): Point[] {
    const size = LANDMARK68_SIZE;
    const scale = size / Math.max(crop.width, crop.height);
    const width = crop.width * scale;
    const height = crop.height * scale;
    const padX = width < height ? Math.abs(width - height) / 2 : 0;
    const padY = height < width ? Math.abs(width - height) / 2 : 0;
    const points: Point[] = [];
    for (let p = 0; p < 68; p++) {
      const x = Math.fround(Math.fround(Math.fround(relative[2 * p] * size) - padX) / width);
      const y = Math.fround(Math.fround(Math.fround(relative[2 * p + 1] * size) - padY) / height);
      points.push([x * crop.width + face.box.x, y * crop.height + face.box.y]);
    }
    return points;
  }
}
