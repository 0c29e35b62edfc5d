import type * as tfjs from '@tensorflow/tfjs';
import type { FaceDetectorModel, FoundFace } from './face-detector-model.js';
import type { FaceApi } from './face-models.js';
import { type StageTimer, timed } from './stage-timer.js';
import { mergeBoxes } from './merge-boxes.js';
import type { TfBackend } from './tf-backend.js';
import type { Point, RgbImage } from './types.js';

export const DETECTORS = ['auto', 'ssd', 'tiny'] as const;
export type DetectorName = (typeof DETECTORS)[number];

export interface DetectorOptions {
  /**
   * ssd: SSD-MobileNet (accurate, small faces); tiny: the tiny detector (fast, portraits);
   * auto: portrait-sized photos go to the tiny detector with an SSD fallback, larger frames to SSD.
   */
  detector: DetectorName;
  /** Faces whose box is smaller than this (shorter side, px) are ignored. */
  minFaceSize: number;
}

/** SSD's confidence floor: 0.5 (face-api's default) missed 10% of one-photo enrollment images. */
const SSD_MIN_CONFIDENCE = 0.3;
/** Tiny detector input. On 60 LFW photos: 320 missed none, 416 missed 3, 224 missed 1; 41 ms against SSD's 300. */
const TINY_INPUT = 320;
/** The tiny detector's score floor. */
const TINY_MIN_SCORE = 0.3;
/** Tiling of scenes (see locate()). */
const TILE_SIZE = 720;
const TILE_OVERLAP = 160;
/** Frames longer than this many times their short side are searched in tiles only. */
const MAX_FRAME_ASPECT = 4;

type FaceDetection = InstanceType<FaceApi['FaceDetection']>;

/** Another implementation of face-api's SSD-MobileNetV1 network (e.g. onnx/onnx-ssd-mobilenet.ts). */
export interface SsdNetwork {
  locateFaces(input: tfjs.Tensor3D, options: { minConfidence: number; maxResults: number }): Promise<FaceDetection[]>;
}

/** Another implementation of face-api's tiny face detector (e.g. onnx/onnx-tiny-face-detector.ts). */
export interface TinyNetwork {
  locateFaces(input: tfjs.Tensor3D, options: { inputSize: number; scoreThreshold: number }): Promise<FaceDetection[]>;
}

/** A detected face as the engine reports it: its box, its score and its 68 landmarks. */
export interface DetectedFace extends FoundFace {
  landmarks: Point[];
}

/**
 * face-api's detectors (SSD-MobileNet v1 and the tiny detector) with the engine's choice between
 * them, margins and tiling. Synchronous, heavy work: it runs inside the engine's worker threads,
 * never on a caller's event loop.
 */
export class FaceApiDetector implements FaceDetectorModel {
  constructor(
    private readonly tf: TfBackend['tf'],
    private readonly faceapi: FaceApi,
    readonly options: DetectorOptions,
    /** SSD's network when it does not run on face-api's tfjs (the onnx backend). */
    private readonly ssdNetwork?: SsdNetwork,
    /** The tiny detector's network when it does not run on face-api's tfjs (the onnx backend). */
    private readonly tinyNetwork?: TinyNetwork,
  ) {}

  async detect(image: RgbImage, timer?: StageTimer): Promise<FoundFace[]> {
    const tensor = this.tf.tensor3d(image.data, [image.height, image.width, 3], 'int32');
    try {
      // Clipped here: the crop the landmarks are found in, and so their offset, is the clipped box.
      return (await this.locate(tensor, timer))
        .map(({ score, box }) => ({ score, box: box.clipAtImageBorders(image.width, image.height) }))
        .filter(({ box }) => box.width > 1 && box.height > 1)
        .map(({ score, box: { x, y, width, height } }) => ({ box: { x, y, width, height }, score }));
    } finally {
      tensor.dispose();
    }
  }

  private async locate(
    tensor: tfjs.Tensor3D,
    timer?: StageTimer,
  ): Promise<Array<InstanceType<FaceApi['FaceDetection']>>> {
    const { faceapi, ssdNetwork, tinyNetwork } = this;
    const tiny = (inputSize: number, stage: string) => (input: tfjs.Tensor3D) =>
      timed(timer, stage, () =>
        tinyNetwork
          ? tinyNetwork.locateFaces(input, { inputSize, scoreThreshold: TINY_MIN_SCORE })
          : faceapi.nets.tinyFaceDetector.locateFaces(
              input as never,
              new faceapi.TinyFaceDetectorOptions({ inputSize, scoreThreshold: TINY_MIN_SCORE }),
            ),
      );
    const ssdOptions = { minConfidence: SSD_MIN_CONFIDENCE, maxResults: 100 };
    const ssdOn = (stage: string) => (input: tfjs.Tensor3D) =>
      timed(timer, stage, () =>
        ssdNetwork
          ? ssdNetwork.locateFaces(input, ssdOptions)
          : faceapi.nets.ssdMobilenetv1.locateFaces(input as never, new faceapi.SsdMobilenetv1Options(ssdOptions)),
      );
    const keep = (found: Array<InstanceType<FaceApi['FaceDetection']>>) =>
      found.filter((d) => Math.min(d.box.width, d.box.height) >= this.options.minFaceSize);

    const [height, width] = tensor.shape;
    const { detector } = this.options;
    // In a frame much larger than the tiny detector's input, faces shrink below what it finds.
    if (detector === 'ssd') return keep(await ssdOn('detect.ssd')(tensor));
    if (detector === 'auto' && Math.max(width, height) > 2 * TINY_INPUT) {
      // Scenes (CCTV, groups): SSD shrinks the frame to 512 px, and 40 px faces shrink below what it
      // finds. Measured on a night of 300 1280x720 snapshots with 712 faces of 40-119 px: SSD on the
      // frame alone found 87.8%, with tiles of 720 px (overlap >= 160) as well 99.0%, at 2.6x the
      // detection time (tiles of 640: 99.2% at 5.8x; of 960: 97.2%). Tiles grow with the frame,
      // at most three across, so a large photo costs at most ten passes.
      // A panorama (20000x200) is padded to a square by the detector: 1.2 G values for the frame,
      // hundreds of MB per wide tile. Past 4:1 the frame pass is left to the tiles, and tiles are at
      // most twice the short side (the faces fit in it anyway).
      const short = Math.min(width, height);
      const long = Math.max(width, height);
      const size = Math.min(Math.max(TILE_SIZE, Math.ceil(long / 3)), Math.max(TILE_SIZE, 2 * short));
      const frame = long <= MAX_FRAME_ASPECT * short ? await ssdOn('detect.ssd.frame')(tensor) : [];
      const found = [...frame, ...(await this.tiled(tensor, size, TILE_OVERLAP, ssdOn('detect.ssd.tiles')))];
      // Small boxes out first: a small high-scoring fragment must not suppress the face's whole box.
      return mergeBoxes(keep(found));
    }
    if (detector === 'tiny') return keep(await tiny(TINY_INPUT, 'detect.tiny')(tensor));

    // Portraits. Measured on the 3,811 LFW pair images: both detectors miss faces that fill the
    // frame. A 25% margin let the tiny detector find the central face in 3,800 (3,749 without),
    // at the same cost; a 50% margin let SSD find it in all of the rest but one.
    for (const [margin, detect] of [
      [0.25, tiny(TINY_INPUT, 'detect.tiny.margin')],
      [0.5, ssdOn('detect.ssd.margin')],
      [0, tiny(TINY_INPUT / 2, 'detect.tiny.small')],
    ] as const) {
      const found = keep(await this.withMargin(tensor, margin, detect));
      if (found.length > 0) return found;
    }
    return [];
  }

  /**
   * Runs a detector on overlapping size x size tiles of the image (faces keep their pixels instead of
   * shrinking with the whole frame to the detector's input) and maps the boxes back.
   */
  private async tiled(
    tensor: tfjs.Tensor3D,
    size: number,
    overlap: number,
    detect: (input: tfjs.Tensor3D) => Promise<Array<InstanceType<FaceApi['FaceDetection']>>>,
  ): Promise<Array<InstanceType<FaceApi['FaceDetection']>>> {
    const [height, width] = tensor.shape;
    const out: Array<InstanceType<FaceApi['FaceDetection']>> = [];
    for (const top of tileStarts(height, size, overlap)) {
      for (const left of tileStarts(width, size, overlap)) {
        const h = Math.min(size, height - top);
        const w = Math.min(size, width - left);
        const tile = this.tf.slice(tensor, [top, left, 0], [h, w, 3]) as tfjs.Tensor3D;
        try {
          for (const { score, box } of await detect(tile)) {
            const rect = new this.faceapi.Rect(
              (box.x + left) / width,
              (box.y + top) / height,
              box.width / width,
              box.height / height,
            );
            out.push(new this.faceapi.FaceDetection(score, rect, { width, height }));
          }
        } finally {
          tile.dispose();
        }
      }
    }
    return out;
  }

  /** Runs a detector on the image framed by a black margin, and maps its boxes back onto the image. */
  private async withMargin(
    tensor: tfjs.Tensor3D,
    margin: number,
    detect: (input: tfjs.Tensor3D) => Promise<Array<InstanceType<FaceApi['FaceDetection']>>>,
  ): Promise<Array<InstanceType<FaceApi['FaceDetection']>>> {
    if (margin === 0) return detect(tensor);
    const [height, width] = tensor.shape;
    const pad = Math.round(Math.max(width, height) * margin);
    const padded = this.tf.pad(tensor, [
      [pad, pad],
      [pad, pad],
      [0, 0],
    ]) as tfjs.Tensor3D;
    try {
      return (await detect(padded)).map(({ score, box }) => {
        const relative = new this.faceapi.Rect(
          (box.x - pad) / width,
          (box.y - pad) / height,
          box.width / width,
          box.height / height,
        );
        return new this.faceapi.FaceDetection(score, relative, { width, height });
      });
    } finally {
      padded.dispose();
    }
  }
}

/** Tile origins along one axis: tiles of `size` overlapping by at least `overlap`, the last flush with the end. */
function tileStarts(length: number, size: number, overlap: number): number[] {
  if (length <= size) return [0];
  const count = Math.ceil((length - overlap) / (size - overlap));
  const step = (length - size) / (count - 1);
  return Array.from({ length: count }, (_, i) => Math.round(i * step));
}
