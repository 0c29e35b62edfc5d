/**
 * The synthetic CCTV "night" for the identification benchmark (bench/identify-bench.ts).
 *
 *   npx tsx bench/night/build-night.ts --out reports/night [--seed 1] [--threads 2]
 *
 * From ../shared/datasets/lfw-dev (portraits) and ../shared/datasets/no-face (backgrounds) it builds,
 * deterministically for a seed, a night resembling the held-out one the issue describes:
 *   - ~300 snapshots of 1280x720, 1-4 faces each (~750 faces), faces 40-119 px wide, Gaussian blur
 *     (sigma 0.5-1.5) on ~40% of them, JPEG quality 55-70, ~20% greyscale;
 *   - a gallery of 1,768 persons enrolled from ONE photo each;
 *   - ~40% of the night's faces belong to nobody in the gallery.
 * Enrolled = half of the people with 2+ images (gallery: their first image; night: one of their
 * other images) plus one-image people as distractors up to 1,768. Strangers = the other people with
 * 2+ images and the unenrolled one-image people.
 *
 * Faces are pasted: the source face box comes from FaceEngine.detect on the LFW portrait (the
 * central face); a region of 2x the box is scaled so the box gets the target width and blended with
 * a soft elliptical mask onto a background (no-face photo, cover-resized to 1280x720). The pasted,
 * scaled detector box is the ground truth.
 *
 * Output:
 *   <out>/gallery/<personId>/<file>.jpg      enrollment photos (`facepipe enroll` folder layout)
 *   <out>/night/cam-<n>/<hhmmss>.jpg          snapshots
 *   <out>/truth.json                          NightTruth (below)
 *   <out>/source-boxes.json                   cache of the detected LFW face boxes
 * A second build with the same parameters finds truth.json and does nothing.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp, { type Sharp } from 'sharp';
import { z } from 'zod';
import { FaceEngine } from '../../src/engine/face-engine.js';
import type { Box } from '../../src/engine/types.js';
import { forEachConcurrent } from '../../src/util/for-each-concurrent.js';
import { prng } from '../../test/support/synthetic-embeddings.js';
import { integer, optionsOrExit, parseOptions } from '../bench-options.js';
import { DUPLICATE_IDENTITIES, type DuplicateIdentity } from './duplicate-identities.js';

export const LFW_DIR = path.resolve('../shared/datasets/lfw-dev');
export const NO_FACE_DIR = path.resolve('../shared/datasets/no-face');

export interface NightParams {
  version: 1;
  seed: number;
  snapshots: number;
  width: number;
  height: number;
  galleryPersons: number;
  /** Share of the night's faces that belong to nobody in the gallery. */
  strangerShare: number;
  minFaces: number;
  maxFaces: number;
  minFaceWidth: number;
  maxFaceWidth: number;
  blurShare: number;
  blurSigma: [number, number];
  jpegQuality: [number, number];
  greyShare: number;
  cameras: number;
}

export const DEFAULT_NIGHT_PARAMS: Omit<NightParams, 'seed'> = {
  version: 1,
  snapshots: 300,
  width: 1280,
  height: 720,
  galleryPersons: 1768,
  strangerShare: 0.4,
  minFaces: 1,
  maxFaces: 4,
  minFaceWidth: 40,
  maxFaceWidth: 119,
  blurShare: 0.4,
  blurSigma: [0.5, 1.5],
  jpegQuality: [55, 70],
  greyShare: 0.2,
  cameras: 6,
};

export interface TruthFace {
  box: Box;
  personId: string;
  /** Whether the person is in the gallery. */
  enrolled: boolean;
  /** The LFW image pasted (relative to lfw-dev). */
  source: string;
  /** The LFW name the photo is filed under, when DUPLICATE_IDENTITIES says it shows `personId`. */
  filedAs?: string;
}

export interface TruthSnapshot {
  /** Relative to <out>/night, '/'-separated: cam-<n>/<hhmmss>.jpg */
  key: string;
  faces: TruthFace[];
  background: string;
  quality: number;
  blur: number;
  grey: boolean;
}

export interface NightTruth {
  params: NightParams;
  snapshots: TruthSnapshot[];
  gallery: { persons: number; images: number };
}

interface Person {
  name: string;
  /** File names, sorted. */
  images: string[];
}

const round1 = (v: number) => Math.round(v * 10) / 10;

function shuffle<T>(rand: () => number, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

async function listPeople(lfwDir: string): Promise<Person[]> {
  const dirs = (await readdir(lfwDir, { withFileTypes: true }))
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort(byName);
  const people: Person[] = [];
  for (const name of dirs) {
    const images = (await readdir(path.join(lfwDir, name))).filter((f) => f.endsWith('.jpg')).sort(byName);
    if (images.length > 0) people.push({ name, images });
  }
  return people;
}

/**
 * Face boxes of LFW portraits, from the engine, cached in a JSON file (null: no face found).
 * The picked face is the largest one containing the image centre, else the one nearest to it.
 */
class SourceBoxes {
  private constructor(
    private readonly file: string,
    private readonly cache: Record<string, Box | null>,
    private readonly engine: () => Promise<FaceEngine>,
  ) {}

  static async open(file: string, engine: () => Promise<FaceEngine>): Promise<SourceBoxes> {
    const cache = existsSync(file) ? (JSON.parse(await readFile(file, 'utf8')) as Record<string, Box | null>) : {};
    return new SourceBoxes(file, cache, engine);
  }

  async box(lfwDir: string, rel: string): Promise<Box | null> {
    if (rel in this.cache) return this.cache[rel];
    const engine = await this.engine();
    let box: Box | null = null;
    try {
      const { faces, width, height } = await engine.detect(path.join(lfwDir, rel));
      const cx = width / 2;
      const cy = height / 2;
      const central = faces.filter(
        (f) => f.box.x <= cx && cx <= f.box.x + f.box.width && f.box.y <= cy && cy <= f.box.y + f.box.height,
      );
      const pick =
        central.length > 0
          ? central.reduce((a, b) => (b.box.width * b.box.height > a.box.width * a.box.height ? b : a))
          : faces.reduce<(typeof faces)[number] | undefined>((a, b) => {
              const d = (f: (typeof faces)[number]) =>
                Math.hypot(f.box.x + f.box.width / 2 - cx, f.box.y + f.box.height / 2 - cy);
              return a === undefined || d(b) < d(a) ? b : a;
            }, undefined);
      if (pick) box = { x: pick.box.x, y: pick.box.y, width: pick.box.width, height: pick.box.height };
    } catch {
      box = null;
    }
    this.cache[rel] = box;
    return box;
  }

  /** The first `need` items (in list order) whose image has a face; items are examined in chunks. */
  async firstWithBox<T>(
    lfwDir: string,
    items: readonly T[],
    need: number,
    image: (item: T) => string,
    concurrency: number,
  ): Promise<Array<{ item: T; box: Box }>> {
    const out: Array<{ item: T; box: Box }> = [];
    for (let start = 0; start < items.length && out.length < need; ) {
      const chunk = items.slice(start, start + Math.max(8, Math.ceil((need - out.length) * 1.05)));
      start += chunk.length;
      const boxes: Array<Box | null> = new Array(chunk.length).fill(null);
      await forEachConcurrent(chunk.keys(), concurrency, async (i) => {
        boxes[i] = await this.box(lfwDir, image(chunk[i]));
      });
      for (let i = 0; i < chunk.length && out.length < need; i++) {
        const box = boxes[i];
        if (box) out.push({ item: chunk[i], box });
      }
    }
    return out;
  }

  async save(): Promise<void> {
    const sorted = Object.fromEntries(
      Object.keys(this.cache)
        .sort(byName)
        .map((k) => [k, this.cache[k]]),
    );
    await writeFile(this.file, `${JSON.stringify(sorted, null, 1)}\n`);
  }
}

interface PlannedFace {
  personId: string;
  enrolled: boolean;
  source: string;
  sourceBox: Box;
}

/** An 8-bit RGB raw image. */
interface Raw {
  data: Buffer;
  width: number;
  height: number;
}

async function toRaw(image: Sharp): Promise<Raw> {
  const { data, info } = await image.toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`expected 3 channels, got ${info.channels}`);
  return { data, width: info.width, height: info.height };
}

/** The smooth mask weight at normalised elliptical radius r: 1 inside 0.7, 0 outside 1. */
function maskWeight(r: number): number {
  if (r <= 0.7) return 1;
  if (r >= 1) return 0;
  const t = (1 - r) / 0.3;
  return t * t * (3 - 2 * t);
}

/**
 * Pastes `face` at (left, top) of `frame` with a soft elliptical alpha centred on (cx, cy) (patch
 * coordinates) with semi-axes (ax, ay).
 */
function blend(frame: Raw, face: Raw, left: number, top: number, cx: number, cy: number, ax: number, ay: number): void {
  for (let y = 0; y < face.height; y++) {
    const fy = top + y;
    if (fy < 0 || fy >= frame.height) continue;
    const dy = (y + 0.5 - cy) / ay;
    for (let x = 0; x < face.width; x++) {
      const fx = left + x;
      if (fx < 0 || fx >= frame.width) continue;
      const dx = (x + 0.5 - cx) / ax;
      const a = maskWeight(Math.sqrt(dx * dx + dy * dy));
      if (a === 0) continue;
      const s = (y * face.width + x) * 3;
      const d = (fy * frame.width + fx) * 3;
      for (let c = 0; c < 3; c++) frame.data[d + c] = Math.round(a * face.data[s + c] + (1 - a) * frame.data[d + c]);
    }
  }
}

const overlaps = (a: Box, b: Box) =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

/**
 * The truth with the label noise of DUPLICATE_IDENTITIES resolved: a stranger face pasted from a
 * listed photo, or filed under a listed other name, is that person's (enrolled when the person is
 * in the gallery under <out>/gallery). Applied
 * when a night is read, so that truth.json keeps the LFW names and the snapshots stay the same.
 */
export async function withDuplicateIdentities(
  truth: NightTruth,
  out: string,
  duplicates: readonly DuplicateIdentity[] = DUPLICATE_IDENTITIES,
): Promise<NightTruth> {
  const byPhoto = new Map(duplicates.flatMap((d) => (d.photos ?? []).map((photo) => [photo, d.person] as const)));
  const byName = new Map(duplicates.flatMap((d) => (d.names ?? []).map((name) => [name, d.person] as const)));
  if (byPhoto.size + byName.size === 0) return truth;
  const gallery = new Set(existsSync(path.join(out, 'gallery')) ? await readdir(path.join(out, 'gallery')) : []);
  return {
    ...truth,
    snapshots: truth.snapshots.map((snapshot) => ({
      ...snapshot,
      faces: snapshot.faces.map((face) => {
        if (face.enrolled) return face;
        const person = byPhoto.get(face.source) ?? byName.get(face.personId);
        if (person === undefined || person === face.personId) return face;
        return { ...face, personId: person, enrolled: gallery.has(person), filedAs: face.personId };
      }),
    })),
  };
}

export interface BuildNightOptions {
  out: string;
  seed?: number;
  threads?: number;
  lfwDir?: string;
  backgroundsDir?: string;
  /** Overrides of DEFAULT_NIGHT_PARAMS (part of the cache key). */
  params?: Partial<Omit<NightParams, 'seed' | 'version'>>;
  log?: (line: string) => void;
}

/** Builds the night (or finds it built with the same parameters) and returns its truth. */
export async function buildNight(
  options: BuildNightOptions,
): Promise<{ truth: NightTruth; built: boolean; seconds: number }> {
  const started = performance.now();
  const log = options.log ?? ((line: string) => console.error(line));
  const out = path.resolve(options.out);
  const lfwDir = options.lfwDir ?? LFW_DIR;
  const backgroundsDir = options.backgroundsDir ?? NO_FACE_DIR;
  const params: NightParams = { ...DEFAULT_NIGHT_PARAMS, ...options.params, version: 1, seed: options.seed ?? 1 };
  const truthFile = path.join(out, 'truth.json');
  if (existsSync(truthFile)) {
    const existing = JSON.parse(await readFile(truthFile, 'utf8')) as NightTruth;
    if (JSON.stringify(existing.params) === JSON.stringify(params)) {
      log(`night: reusing ${truthFile}`);
      return {
        truth: await withDuplicateIdentities(existing, out),
        built: false,
        seconds: (performance.now() - started) / 1000,
      };
    }
    log(`night: ${truthFile} was built with other parameters; rebuilding`);
  }
  for (const dir of [lfwDir, backgroundsDir]) if (!existsSync(dir)) throw new Error(`night: ${dir} is absent`);

  await rm(truthFile, { force: true });
  await rm(path.join(out, 'gallery'), { recursive: true, force: true });
  await rm(path.join(out, 'night'), { recursive: true, force: true });
  await mkdir(out, { recursive: true });

  const rand = prng(params.seed);
  const between = (lo: number, hi: number) => lo + (hi - lo) * rand();
  const intBetween = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

  // --- who is enrolled, who is a stranger --------------------------------------------------------
  const people = await listPeople(lfwDir);
  const multi = shuffle(
    rand,
    people.filter((p) => p.images.length >= 2),
  );
  const single = shuffle(
    rand,
    people.filter((p) => p.images.length === 1),
  );
  const enrolledMulti = multi.slice(0, Math.floor(multi.length / 2));
  const strangerMulti = multi.slice(enrolledMulti.length);
  const distractorCount = Math.max(0, Math.min(single.length, params.galleryPersons - enrolledMulti.length));
  const distractors = single.slice(0, distractorCount);
  const strangerSingle = single.slice(distractorCount);
  const rel = (p: Person, image: string) => `${p.name}/${image}`;

  // --- the snapshots' face counts, and how many faces of each kind --------------------------------
  const counts = Array.from({ length: params.snapshots }, () => intBetween(params.minFaces, params.maxFaces));
  const totalFaces = counts.reduce((a, b) => a + b, 0);
  const strangerFaces = Math.round(totalFaces * params.strangerShare);
  const enrolledFaces = totalFaces - strangerFaces;
  log(
    `night: ${people.length} people (${multi.length} with 2+ images); gallery ${enrolledMulti.length} probed + ${distractors.length} distractors; ${params.snapshots} snapshots, ${totalFaces} faces (${enrolledFaces} enrolled, ${strangerFaces} strangers)`,
  );

  let engine: Promise<FaceEngine> | undefined;
  const threads = options.threads ?? 2;
  const boxes = await SourceBoxes.open(
    path.join(out, 'source-boxes.json'),
    () => (engine ??= FaceEngine.start({ threads })),
  );
  const concurrency = 2 * threads;
  try {
    // Enrolled probes: one other image per probed person (the next candidate when no face is found),
    // then second images of people with 3+ images until there are enough.
    const candidates = new Map(enrolledMulti.map((p) => [p.name, shuffle(rand, p.images.slice(1))]));
    const planned: PlannedFace[] = [];
    const firstPass: Array<{ person: Person; image: string; box: Box }> = [];
    await forEachConcurrent(enrolledMulti.keys(), concurrency, async (i) => {
      const person = enrolledMulti[i];
      const list = candidates.get(person.name)!;
      while (list.length > 0) {
        const image = list.shift()!;
        const box = await boxes.box(lfwDir, rel(person, image));
        if (box) {
          firstPass[i] = { person, image, box };
          return;
        }
      }
    });
    for (const hit of firstPass)
      if (hit)
        planned.push({
          personId: hit.person.name,
          enrolled: true,
          source: rel(hit.person, hit.image),
          sourceBox: hit.box,
        });
    if (planned.length > enrolledFaces) planned.length = enrolledFaces;
    const extra = enrolledMulti.flatMap((p) =>
      candidates.get(p.name)!.length > 0 ? [{ person: p, image: candidates.get(p.name)![0] }] : [],
    );
    for (const { item, box } of await boxes.firstWithBox(
      lfwDir,
      extra,
      enrolledFaces - planned.length,
      (e) => rel(e.person, e.image),
      concurrency,
    )) {
      planned.push({
        personId: item.person.name,
        enrolled: true,
        source: rel(item.person, item.image),
        sourceBox: box,
      });
    }

    // Strangers: one image each of distinct people (a random one for people with 2+ images).
    const strangers = shuffle(rand, [...strangerMulti, ...strangerSingle]).map((p) => ({
      person: p,
      image: p.images[Math.floor(rand() * p.images.length)],
    }));
    for (const { item, box } of await boxes.firstWithBox(
      lfwDir,
      strangers,
      strangerFaces,
      (s) => rel(s.person, s.image),
      concurrency,
    )) {
      planned.push({
        personId: item.person.name,
        enrolled: false,
        source: rel(item.person, item.image),
        sourceBox: box,
      });
    }
    await boxes.save();
    log(`night: ${planned.length} faces with a source box (${planned.filter((f) => f.enrolled).length} enrolled)`);

    // --- the gallery: byte copies of the enrollment photos --------------------------------------
    const gallery = [...enrolledMulti, ...distractors];
    for (const person of gallery) {
      const target = path.join(out, 'gallery', person.name, person.images[0]);
      await mkdir(path.dirname(target), { recursive: true });
      await copyFile(path.join(lfwDir, person.name, person.images[0]), target);
    }

    // --- the snapshots --------------------------------------------------------------------------
    const backgroundFiles = (await readdir(backgroundsDir)).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort(byName);
    const faces = shuffle(rand, planned);
    const clock = Array.from({ length: params.cameras }, () => 21 * 3600 + intBetween(0, 1800));
    const snapshots: TruthSnapshot[] = [];
    let next = 0;
    for (let s = 0; s < counts.length && next < faces.length; s++) {
      const camera = intBetween(1, params.cameras);
      clock[camera - 1] += intBetween(20, 200);
      const t = clock[camera - 1] % 86400;
      const hhmmss = [Math.floor(t / 3600), Math.floor(t / 60) % 60, t % 60]
        .map((v) => String(v).padStart(2, '0'))
        .join('');
      const key = `cam-${String(camera).padStart(2, '0')}/${hhmmss}.jpg`;
      const background = backgroundFiles[intBetween(0, backgroundFiles.length - 1)];
      const flop = rand() < 0.5;
      const position = (['centre', 'left', 'right', 'top', 'bottom'] as const)[intBetween(0, 4)];
      const quality = intBetween(params.jpegQuality[0], params.jpegQuality[1]);
      const blur = rand() < params.blurShare ? round1(between(params.blurSigma[0], params.blurSigma[1])) : 0;
      const grey = rand() < params.greyShare;

      let bg = sharp(path.join(backgroundsDir, background))
        .rotate()
        .resize(params.width, params.height, { fit: 'cover', position });
      if (flop) bg = bg.flop();
      const frame = await toRaw(bg);

      const placed: Box[] = [];
      const truthFaces: TruthFace[] = [];
      for (let f = 0; f < counts[s] && next < faces.length; f++) {
        const face = faces[next++];
        const src = face.sourceBox;
        const targetWidth = intBetween(params.minFaceWidth, params.maxFaceWidth);
        const scale = targetWidth / src.width;
        // The region pasted: 2x the face box around its centre, clipped to the portrait.
        const meta = await sharp(path.join(lfwDir, face.source)).metadata();
        const sw = meta.width!;
        const sh = meta.height!;
        const left = Math.max(0, Math.floor(src.x - src.width / 2));
        const top = Math.max(0, Math.floor(src.y - src.height / 2));
        const right = Math.min(sw, Math.ceil(src.x + src.width * 1.5));
        const bottom = Math.min(sh, Math.ceil(src.y + src.height * 1.5));
        const outW = Math.max(1, Math.round((right - left) * scale));
        const outH = Math.max(1, Math.round((bottom - top) * scale));
        const sx = outW / (right - left);
        const sy = outH / (bottom - top);
        // The face box inside the scaled patch.
        const inPatch = {
          x: (src.x - left) * sx,
          y: (src.y - top) * sy,
          width: src.width * sx,
          height: src.height * sy,
        };
        let spot: { px: number; py: number } | undefined;
        for (let attempt = 0; attempt < 200 && !spot; attempt++) {
          const px = intBetween(0, params.width - outW);
          const py = intBetween(0, params.height - outH);
          const region = { x: px, y: py, width: outW, height: outH };
          if (placed.every((p) => !overlaps(p, region))) spot = { px, py };
        }
        if (!spot) {
          next--; // no room in this frame: the face goes to the next snapshot
          break;
        }
        placed.push({ x: spot.px, y: spot.py, width: outW, height: outH });
        const patch = await toRaw(
          sharp(path.join(lfwDir, face.source))
            .extract({ left, top, width: right - left, height: bottom - top })
            .resize(outW, outH, { kernel: 'lanczos3' }),
        );
        const cx = inPatch.x + inPatch.width / 2;
        const cy = inPatch.y + inPatch.height / 2;
        blend(frame, patch, spot.px, spot.py, cx, cy, inPatch.width, inPatch.height);
        truthFaces.push({
          box: {
            x: round1(spot.px + inPatch.x),
            y: round1(spot.py + inPatch.y),
            width: round1(inPatch.width),
            height: round1(inPatch.height),
          },
          personId: face.personId,
          enrolled: face.enrolled,
          source: face.source,
        });
      }

      let image = sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: 3 } });
      if (blur > 0) image = image.blur(blur);
      if (grey) image = image.greyscale();
      const target = path.join(out, 'night', ...key.split('/'));
      await mkdir(path.dirname(target), { recursive: true });
      if (existsSync(target)) throw new Error(`night: duplicate key ${key}`);
      await writeFile(target, await image.jpeg({ quality }).toBuffer());
      snapshots.push({ key, faces: truthFaces, background, quality, blur, grey });
      if ((s + 1) % 50 === 0) log(`night: ${s + 1} snapshots`);
    }

    snapshots.sort((a, b) => byName(a.key, b.key));
    const truth: NightTruth = { params, snapshots, gallery: { persons: gallery.length, images: gallery.length } };
    await writeFile(truthFile, `${JSON.stringify(truth, null, 1)}\n`);
    const placedFaces = snapshots.reduce((n, s) => n + s.faces.length, 0);
    log(
      `night: wrote ${snapshots.length} snapshots with ${placedFaces} faces, gallery of ${gallery.length}, in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    return {
      truth: await withDuplicateIdentities(truth, out),
      built: true,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    if (engine) await (await engine).close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const options = optionsOrExit('build-night', () =>
    parseOptions(
      {
        out: { type: 'string', default: 'reports/night' },
        seed: { type: 'string', default: '1' },
        threads: { type: 'string', default: '2' },
      },
      z.object({ out: z.string().min(1), seed: integer(), threads: integer(1) }),
    ),
  );
  const { truth, built, seconds } = await buildNight(options);
  const faces = truth.snapshots.flatMap((s) => s.faces);
  console.log(
    JSON.stringify({
      built,
      seconds: Number(seconds.toFixed(1)),
      snapshots: truth.snapshots.length,
      faces: faces.length,
      enrolledFaces: faces.filter((f) => f.enrolled).length,
      strangerFaces: faces.filter((f) => !f.enrolled).length,
      gallery: truth.gallery,
    }),
  );
}
