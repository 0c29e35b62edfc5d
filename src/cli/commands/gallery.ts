import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { loadAppConfig } from '../../config/app-config.js';
import { loadEngineConfig } from '../../config/engine-config.js';
import { GalleryStore } from '../../gallery/gallery-store.js';
import { CohortOffsetsStore } from '../../identification/cohort-offsets-store.js';
import { type HubReport, type HubRow, hubReport, storedOffsets } from '../../identification/gallery-hubs.js';
import { listImageFiles } from '../../files/image-files.js';
import { boxIou } from '../../engine/merge-boxes.js';
import { RunStore } from '../../producers/run-store.js';
import { ResultStore } from '../../results/result-store.js';
import { type UnmatchedDetections, unmatchedDetections } from '../../results/unmatched-detections.js';
import { openSourceStorage, openStorage } from '../../storage/open-storage.js';
import type { Storage } from '../../storage/storage.js';
import { forEachConcurrent } from '../../util/for-each-concurrent.js';
import { intArg } from '../arg-parsers.js';
import { deploymentModel, inFlight, withEngine } from '../engine-session.js';
import { EXIT, fixed, printJson, printLine } from '../output.js';

interface HubsOptions {
  cohort?: string[];
  run?: string[];
  top: number;
  apply?: boolean;
  json?: boolean;
}

/**
 * `facepipe gallery hubs`: the enrolled persons that junk lands on (issue 22). Reads the durable
 * gallery from storage (no index service needed), embeds the cohort (or reads the embeddings
 * `facepipe embed` wrote), lists the hubs, and with --apply stores the per-person offsets that hub
 * normalisation (FACEPIPE_HUB_NORMALISATION) adds to distances.
 */
export function registerGallery(program: Command): void {
  const gallery = program.command('gallery').description('inspect the durable gallery in storage (--storage)');
  gallery
    .command('hubs')
    .description(
      'score every enrolled person against a cohort of non-face and stranger faces; list those that attract far more than their share',
    )
    .option(
      '--cohort <path...>',
      'cohort faces: image files or folders (every face the engine finds), or .jsonl files of `facepipe embed`; default (without --run): the group photos shipped in @vladmandic/face-api',
    )
    .option(
      '--run <run...>',
      "cohort faces: the detections of these identify runs that nobody was named for (embedded again from the run's source)",
    )
    .option('--top <n>', 'also list the n persons attracting most cohort faces (default: 10)', intArg(0, 10000), 10)
    .option('--apply', 'store the per-person offsets where workers and the index service read them')
    .option(
      '--json',
      'print one JSON object (the last line): {model, cohort, persons, galleryFaces, cohortFaces, share, hubs, top, offsetPersons, applied}',
    )
    .action(async (opts: HubsOptions, command: Command) => {
      const globals = command.optsWithGlobals();
      const config = loadAppConfig(globals);
      const model = (await deploymentModel(globals)).id;
      const storage = openStorage(config.storage);
      const records = await new GalleryStore(storage, model).readAll();
      if (records.length === 0) throw new Error(`${config.storage}: no face enrolled for model ${model}`);
      const sources = opts.cohort ?? (opts.run === undefined ? shippedCohort() : []);
      const cohort = await cohortEmbeddings(sources, globals);
      for (const run of opts.run ?? []) cohort.push(...(await runCohort(storage, run, config.followSymlinks, globals)));
      const described = [...sources, ...(opts.run ?? []).map((r) => `run:${r}`)].join(' ');
      const { report, offsets } = hubReport(records, cohort, opts.top);
      let applied = false;
      if (opts.apply) {
        await new CohortOffsetsStore(storage, model).write(storedOffsets(offsets, report, described));
        applied = true;
      }
      if (opts.json) printJson({ model, cohort: described, ...report, applied });
      else printHuman(report, model, applied);
      process.exitCode = EXIT.ok;
    });
}

/** The demo photos inside @vladmandic/face-api: strangers to any deployment, shipped with npm. */
function shippedCohort(): string[] {
  const main = createRequire(import.meta.url).resolve('@vladmandic/face-api');
  const demo = path.join(path.dirname(main), '..', 'demo');
  return [1, 2, 3, 4, 5, 6].map((n) => path.join(demo, `sample${n}.jpg`));
}

/** Embeddings of `.jsonl` files (facepipe embed's lines), then of every face in the images given. */
async function cohortEmbeddings(sources: readonly string[], globals: Record<string, unknown>): Promise<number[][]> {
  const embeddings: number[][] = [];
  for (const file of sources.filter((s) => s.endsWith('.jsonl'))) {
    const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
    let n = 0;
    for await (const line of lines) {
      n++;
      if (line.trim() === '') continue;
      const faces = (JSON.parse(line) as { faces?: Array<{ embedding?: unknown }> }).faces ?? [];
      for (const face of faces) {
        if (!Array.isArray(face.embedding) || !face.embedding.every((v) => typeof v === 'number'))
          throw new Error(`${file}:${n}: a face without an embedding (expected lines of \`facepipe embed\`)`);
        embeddings.push(face.embedding as number[]);
      }
    }
  }
  const images = sources.filter((s) => !s.endsWith('.jsonl'));
  if (images.length > 0) {
    const files = await listImageFiles(images);
    const options = loadEngineConfig(globals);
    await withEngine(options, async (engine) => {
      await forEachConcurrent(files, inFlight(options), async ({ path: file }) => {
        const { faces } = await engine.analyze(file);
        for (const face of faces) embeddings.push(Array.from(face.embedding));
      });
    });
  }
  return embeddings;
}

/** Boxes matched to the engine's faces when the input is analysed again (the same engine finds the same boxes). */
const SAME_BOX_IOU = 0.5;

/** The embeddings of a run's unnamed detections: each input analysed again, its faces matched by box. */
async function runCohort(
  storage: Storage,
  run: string,
  followSymlinks: boolean | undefined,
  globals: Record<string, unknown>,
): Promise<number[][]> {
  const record = await new RunStore(storage).get(run);
  if (record === undefined) throw new Error(`run ${run}: not found in this deployment's storage`);
  const source = openSourceStorage(record.source, followSymlinks);
  const inputs: UnmatchedDetections[] = [];
  for await (const u of unmatchedDetections(new ResultStore(storage), run)) inputs.push(u);
  const embeddings: number[][] = [];
  if (inputs.length === 0) return embeddings;
  const options = loadEngineConfig(globals);
  await withEngine(options, async (engine) => {
    await forEachConcurrent(inputs, inFlight(options), async ({ inputKey, boxes }) => {
      const { faces } = await engine.analyze({ bytes: await source.get(inputKey), name: inputKey });
      for (const box of boxes) {
        const best = faces.map((f) => ({ f, iou: boxIou(f.box, box) })).sort((a, b) => b.iou - a.iou)[0];
        if (best !== undefined && best.iou >= SAME_BOX_IOU) embeddings.push(Array.from(best.f.embedding));
      }
    });
  });
  return embeddings;
}

function printHuman(report: HubReport, model: string, applied: boolean): void {
  printLine(
    `gallery: ${report.persons} person(s), ${report.galleryFaces} face(s), model ${model}; cohort: ${report.cohortFaces} face(s), a fair share ${fixed(report.share, 3)} per person`,
  );
  const table = (rows: HubRow[]) => {
    printLine('  person\thits\tx share\tcohort distance\toffset\tflags');
    for (const r of rows)
      printLine(
        `  ${r.personId}\t${r.hits}\t${fixed(r.ratio, 1)}\t${fixed(r.cohortDistance, 4)}\t${fixed(r.offset, 4)}\t${r.flags.join(',') || '-'}`,
      );
  };
  const { factor, minHits } = report.options;
  if (report.hubs.length === 0) printLine(`hubs: none (more than ${factor} x share and at least ${minHits} hits)`);
  else {
    printLine(
      `hubs: ${report.hubs.length} person(s) attract more than ${factor} x their share (and ${minHits}+ hits):`,
    );
    table(report.hubs);
  }
  if (report.top.length > 0) {
    printLine(`top ${report.top.length} by cohort hits:`);
    table(report.top);
  }
  printLine(
    applied
      ? `stored offsets for ${report.offsetPersons} person(s): applied when FACEPIPE_HUB_NORMALISATION is on`
      : `offsets for ${report.offsetPersons} person(s) not stored (give --apply)`,
  );
}
