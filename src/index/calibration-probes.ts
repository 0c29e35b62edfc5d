/**
 * The probes of `facepipe calibrate`: photos run against the live index service through its
 * /v1/identify (its engine analyses them, as for `facepipe search`), each face scored by the
 * service's own rule. Strangers: every face of every photo under a folder or storage prefix.
 * Mated: labelled photos <root>/<personId>/<image> of enrolled people, the largest face of each.
 */
import type { MatedProbe, ScoredProbe } from '../identification/calibration.js';
import { hasImageExtension } from '../files/image-files.js';
import { listAll } from '../storage/list-all.js';
import { openStorage } from '../storage/open-storage.js';
import { forEachConcurrent } from '../util/for-each-concurrent.js';
import type { IdentifiedFace, IdentifyResponse } from './index-api-schemas.js';
import { type IndexClient, isEnrolled } from './index-client.js';
import { IndexServiceError } from './index-service-error.js';

/** Images sent at once: the service's engine is the bottleneck, a few keep it busy. */
const IN_FLIGHT = 4;

export interface ProbeRun<P> {
  probes: P[];
  images: number;
  /** Images in which the engine found no face (strangers: nothing to score; mated: a miss). */
  noFace: number;
  /** Images the engine refused (not an image, truncated...), with the reason. */
  failed: Array<{ key: string; code: string; message: string }>;
  /** The rule the service applied (every answer carries it). */
  rule?: { marginWeight: number; maxDistance: number; threshold: number };
}

/** Every image key under a folder or storage URL (s3://bucket/prefix), sorted. */
async function imageKeys(source: string): Promise<{ keys: string[]; get: (key: string) => Promise<Uint8Array> }> {
  const storage = openStorage(source);
  const keys: string[] = [];
  for await (const object of listAll(storage, '')) if (hasImageExtension(object.key)) keys.push(object.key);
  if (keys.length === 0) throw new Error(`${source}: no image found (expected .jpg, .png, ... files)`);
  return { keys: keys.sort(), get: (key) => storage.get(key) };
}

/** Rule settings sent with each request (e.g. the margin weight to calibrate for). */
export type RuleQuery = { marginWeight?: number };

async function identifyAll(
  client: IndexClient,
  source: string,
  query: RuleQuery,
  onAnswer: (key: string, answer: IdentifyResponse) => void,
): Promise<Omit<ProbeRun<never>, 'probes'>> {
  const { keys, get } = await imageKeys(source);
  const run: Omit<ProbeRun<never>, 'probes'> = { images: keys.length, noFace: 0, failed: [] };
  await forEachConcurrent(keys, IN_FLIGHT, async (key) => {
    let answer: IdentifyResponse;
    try {
      // k = 1: the decision (and its score) does not depend on k.
      answer = await client.identify(await get(key), 1, { name: key, ...query });
    } catch (err) {
      if (err instanceof IndexServiceError && err.status === 400 && err.code !== 'BAD_REQUEST') {
        run.failed.push({ key, code: err.code, message: err.message });
        return;
      }
      throw err;
    }
    if (answer.faces.length === 0) run.noFace++;
    const d = answer.faces[0]?.decision;
    if (d) run.rule = { marginWeight: d.marginWeight, maxDistance: d.maxDistance, threshold: d.threshold };
    onAnswer(key, answer);
  });
  return run;
}

const scored = (face: IdentifiedFace): ScoredProbe => ({
  score: face.decision.score,
  distance: face.matches[0]?.distance,
});

/** Every face of every photo of people known not to be enrolled. */
export async function strangerProbes(
  client: IndexClient,
  source: string,
  query: RuleQuery = {},
): Promise<ProbeRun<ScoredProbe>> {
  const probes: ScoredProbe[] = [];
  const run = await identifyAll(client, source, query, (_key, answer) => {
    for (const face of answer.faces) probes.push(scored(face));
  });
  return { ...run, probes };
}

/**
 * The largest face of each labelled photo <root>/<personId>/<image>; a photo without a face counts
 * as a miss. Persons the index does not hold are not mated: their photos are left out and listed, as
 * are photos straight under the root (no label).
 */
export async function matedProbes(
  client: IndexClient,
  root: string,
  query: RuleQuery = {},
): Promise<ProbeRun<MatedProbe> & { notEnrolled: string[]; unlabelled: string[] }> {
  const labelled: Array<MatedProbe & { personId: string }> = [];
  const unlabelled: string[] = [];
  const run = await identifyAll(client, root, query, (key, answer) => {
    const slash = key.indexOf('/');
    if (slash <= 0) {
      unlabelled.push(key);
      return;
    }
    const personId = key.slice(0, slash);
    const largest = [...answer.faces].sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height)[0];
    labelled.push(
      largest === undefined
        ? { score: null, rank1: false, personId }
        : { ...scored(largest), rank1: largest.matches[0]?.personId === personId, personId },
    );
  });
  // One lookup per label: a person the index does not hold has no mated photos.
  const enrolled = new Map<string, boolean>();
  for (const personId of new Set(labelled.map((p) => p.personId)))
    enrolled.set(personId, await isEnrolled(client, personId));
  const probes = labelled.filter((p) => enrolled.get(p.personId)).map(({ personId: _, ...p }) => p);
  const notEnrolled = [...enrolled].filter(([, known]) => !known).map(([personId]) => personId);
  return { ...run, probes, notEnrolled: notEnrolled.sort(), unlabelled: unlabelled.sort() };
}
