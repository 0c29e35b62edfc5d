import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import sharp from 'sharp';
import type { FaceEngine } from '../engine/face-engine.js';
import type { Box } from '../engine/types.js';

/** A face found in one of face-api's demo photos, used as a person of the demo. */
export interface DemoFace {
  personId: string;
  sample: string;
  box: Box;
}

export interface DemoData {
  /** <gallery>/<personId>/photo.jpg: one photo per enrolled person. */
  gallery: string;
  /** <night>/cam-N/HHMMSS.jpg: the snapshots to identify. */
  night: string;
  enrolled: DemoFace[];
  strangers: DemoFace[];
  /** snapshot key -> who is in it (enrolled person ids, and 'stranger' for the others). */
  truth: Map<string, string[]>;
}

/** The demo photos that ship inside @vladmandic/face-api (group photos of different people). */
function samplePath(n: number): string {
  const demo = path.join(path.dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api')), '..', 'demo');
  return path.join(demo, `sample${n}.jpg`);
}

/**
 * Builds the demo's archive and night from images that ship in npm packages: the faces of
 * face-api's group photos become people; some are enrolled from a crop of their photo, the rest are
 * strangers; each CCTV-like 1280x720 snapshot shows a few of them again, mirrored, re-lit, smaller
 * and JPEG-compressed (another "photo" of the same face, as far as these assets allow).
 */
export async function buildDemoData(
  engine: FaceEngine,
  dir: string,
  enrolledCount = 6,
  strangerCount = 3,
): Promise<DemoData> {
  const faces: DemoFace[] = [];
  for (const n of [1, 2, 3, 4, 5, 6]) {
    const { faces: found } = await engine.detect(samplePath(n));
    for (const face of found.filter((f) => f.box.width >= 100).sort((a, b) => a.box.x - b.box.x)) {
      faces.push({ personId: '', sample: samplePath(n), box: face.box });
    }
  }
  // Enrolled people and strangers from different photos: one photo never holds both.
  const enrolled = faces
    .slice(0, enrolledCount)
    .map((f, i) => ({ ...f, personId: `guest-${String(i + 1).padStart(2, '0')}` }));
  const strangers = faces.slice(-strangerCount).map((f) => ({ ...f, personId: 'stranger' }));
  if (enrolled.length < enrolledCount || strangers.some((s) => enrolled.some((e) => e.sample === s.sample))) {
    throw new Error(
      `the demo photos gave ${faces.length} large faces; the demo needs ${enrolledCount} + ${strangerCount} in different photos`,
    );
  }

  const gallery = path.join(dir, 'archive');
  for (const person of enrolled) {
    await mkdir(path.join(gallery, person.personId), { recursive: true });
    await (await crop(person, 0.4))
      .resize({ width: 300, withoutEnlargement: true })
      .jpeg({ quality: 90 })
      .toFile(path.join(gallery, person.personId, 'photo.jpg'));
  }

  // Four snapshots of two or three faces each: every enrolled person once, the strangers mixed in.
  const night = path.join(dir, 'cctv');
  const scenes: DemoFace[][] = [
    [enrolled[0], strangers[0], enrolled[1]],
    [enrolled[2], enrolled[3]],
    [strangers[1], enrolled[4]],
    [enrolled[5], strangers[2]],
  ];
  const background = await sharp(samplePath(6))
    .resize(1280, 720, { fit: 'cover' })
    .blur(12)
    .modulate({ brightness: 0.5 })
    .toBuffer();
  const truth = new Map<string, string[]>();
  for (const [i, scene] of scenes.entries()) {
    const key = `cam-${(i % 2) + 1}/0${i + 1}1500.jpg`;
    const layers = [];
    for (const [j, face] of scene.entries()) {
      const width = 110 + 25 * j; // face crops 110-160 px wide, about 70-110 px of face
      const image = await (await crop(face, 0.3))
        .flop()
        .modulate({ brightness: 0.9 + 0.1 * j })
        .resize({ width })
        .toBuffer();
      layers.push({ input: image, left: 120 + j * 400, top: 160 + 60 * (j % 2) });
    }
    await mkdir(path.dirname(path.join(night, key)), { recursive: true });
    await sharp(background).composite(layers).jpeg({ quality: 65 }).toFile(path.join(night, key));
    truth.set(
      key,
      scene.map((f) => f.personId),
    );
  }
  return { gallery, night, enrolled, strangers, truth };
}

async function crop(face: DemoFace, margin: number) {
  const { width = 0, height = 0 } = await sharp(face.sample).metadata();
  const left = Math.max(0, Math.round(face.box.x - margin * face.box.width));
  const top = Math.max(0, Math.round(face.box.y - margin * face.box.height));
  const right = Math.min(width, Math.round(face.box.x + face.box.width * (1 + margin)));
  const bottom = Math.min(height, Math.round(face.box.y + face.box.height * (1 + margin)));
  return sharp(face.sample).extract({ left, top, width: right - left, height: bottom - top });
}
