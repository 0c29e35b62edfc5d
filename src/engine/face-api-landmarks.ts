import type { DlibShapePredictor } from './dlib-shape-predictor.js';
import { fiveOf68 } from './face-alignment.js';
import type { FoundFace } from './face-detector-model.js';
import type { FaceApi } from './face-models.js';
import type { FaceLandmarks, LandmarkModel } from './landmark-model.js';
import { type StageTimer, timed } from './stage-timer.js';
import type { TfBackend } from './tf-backend.js';
import type { Point, RgbImage } from './types.js';

/**
 * face-api's 68-point landmark net, then dlib's five-point model started from those 68 points:
 * the five points dlib aligned its ResNet's training chips with (on LFW 27 errors in 3,000 pairs
 * against 36 with the 68-point landmarks' five).
 */
export class FaceApiLandmarks implements LandmarkModel {
  constructor(
    private readonly tf: TfBackend['tf'],
    private readonly faceapi: FaceApi,
    private readonly fivePointModel: DlibShapePredictor,
  ) {}

  async landmarks(image: RgbImage, faces: readonly FoundFace[], timer?: StageTimer): Promise<FaceLandmarks[]> {
    if (faces.length === 0) return [];
    const tensor = this.tf.tensor3d(image.data, [image.height, image.width, 3], 'int32');
    try {
      const boxes = faces.map(({ box }) => new this.faceapi.Rect(box.x, box.y, box.width, box.height));
      const crops = await timed(timer, 'landmarks.68', () => this.faceapi.extractFaceTensors(tensor as never, boxes));
      try {
        const shapes: FaceLandmarks[] = [];
        for (let i = 0; i < faces.length; i++) {
          const marks = (await timed(timer, 'landmarks.68', () =>
            this.faceapi.nets.faceLandmark68Net.detectLandmarks(crops[i] as never),
          )) as InstanceType<FaceApi['FaceLandmarks68']>;
          const { x, y } = faces[i].box;
          const landmarks = marks.positions.map((p) => [p.x + x, p.y + y] as Point);
          const five = await timed(timer, 'landmarks.five', () =>
            this.fivePointModel.predict(image, this.fivePointModel.boxFor(fiveOf68(landmarks))),
          );
          shapes.push({ landmarks, five });
        }
        return shapes;
      } finally {
        this.tf.dispose(crops as never);
      }
    } finally {
      tensor.dispose();
    }
  }
}
