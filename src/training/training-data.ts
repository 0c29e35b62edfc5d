import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { selectBackend, type BackendName } from '../engine/tf-backend.js';
import { splitByNamedPeople, splitByPerson } from './held-out.js';
import type { LabelledEmbeddings } from './labelled-embeddings.js';
import { Rng } from './rng.js';

/** What both trainers take: the labelled folder, where the results go, and which people are kept out. */
export interface TrainingDataOptions {
  /** Labelled faces: <data>/<personId>/<image>. */
  data: string;
  /** The model, training.json and the embedding cache. */
  out: string;
  /** Seed of the initialisation, batches and held-out split. */
  seed: number;
  /** Share of the people kept out of training, to measure verification with and without the model. */
  heldOut: number;
  /** A people file (one person id per line) naming exactly the people to hold out instead. */
  heldOutPeople?: string;
  /** The tfjs backend training runs on (by default the fastest installed one). */
  backend?: BackendName;
}

/** The labelled embeddings and the id of the model that made them. */
export type TrainingEmbeddings = LabelledEmbeddings & { model: string };

/**
 * The embeddings of the labelled folder `data`, cached in `cacheDir` (see labelledEmbeddings): the
 * caller runs the engine.
 */
export type EmbedLabelledFolder = (data: string, cacheDir: string) => Promise<TrainingEmbeddings>;

/** What both trainers start from: the cached embeddings, tfjs, the seeded RNG, and the held-out people. */
export async function prepareTraining(options: TrainingDataOptions, embed: EmbedLabelledFolder) {
  const heldOutPeople = options.heldOutPeople === undefined ? undefined : await readPeopleFile(options.heldOutPeople);
  const data = await embedData(options, embed);
  const { tf } = await selectBackend(options.backend);
  const rng = new Rng(options.seed);
  const split = heldOutPeople
    ? splitByNamedPeople(data.labels, heldOutPeople)
    : splitByPerson(data.labels, options.heldOut, rng);
  if (split.train.length === 0) throw new Error(`${options.data}: every person is held out, nothing left to train on`);
  return { data, tf, rng, split };
}

/** The counts both trainers report of their data (in this order, as their JSON shows them). */
export function dataCounts(data: LabelledEmbeddings) {
  return {
    images: data.vectors.length,
    people: new Set(data.labels).size,
    skipped: data.skipped.length,
    cached: data.cached,
  };
}

/** A people file: one person id per line; blank lines and lines starting with # are skipped. */
export async function readPeopleFile(file: string): Promise<Set<string>> {
  const text = await readFile(file, 'utf8').catch((err: Error) => {
    throw new Error(`cannot read the people file ${file}: ${err.message}`);
  });
  const people = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  if (people.length === 0) throw new Error(`${file}: lists no person`);
  return new Set(people);
}

/** training.json next to the model: how it was trained, and the people it saw (evaluate skips them). */
export async function writeTrainingReport(
  dir: string,
  report: { trainedPeople: string[] } & Record<string, unknown>,
): Promise<void> {
  const trainedPeople = [...new Set(report.trainedPeople)].sort();
  await writeFile(path.join(dir, 'training.json'), `${JSON.stringify({ ...report, trainedPeople }, null, 2)}\n`);
}

/** The labelled folder's embeddings, from the cache in `out` where it has them, from the engine otherwise. */
async function embedData(options: TrainingDataOptions, embed: EmbedLabelledFolder): Promise<TrainingEmbeddings> {
  if (
    !(await stat(options.data).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  )
    throw new Error(`${options.data}: not a folder`);
  await mkdir(options.out, { recursive: true });
  const data = await embed(options.data, options.out);
  if (data.vectors.length === 0) throw new Error(`${options.data}: no face found in any image`);
  return data;
}
