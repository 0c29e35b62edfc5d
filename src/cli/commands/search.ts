import { loadEngineConfig } from '../../config/engine-config.js';
import { resolveEmbeddingModel } from '../../engine/embedding-model.js';
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { loadAppConfig } from '../../config/app-config.js';
import { FACE_ERROR_CODES, type FaceErrorCode, type FaceErrorJson } from '../../errors/face-error.js';
import { DEFAULT_K, MAX_K, type IdentifiedFace, type IdentifyResponse } from '../../index/index-api-schemas.js';
import { IndexClient } from '../../index/index-client.js';
import { IndexServiceError } from '../../index/index-service-error.js';
import { intArg } from '../arg-parsers.js';
import { EXIT, fixed, printJson, printLine } from '../output.js';
import { addRuleOptions, ruleOverrides } from '../rule-options.js';

interface SearchOptions {
  k: number;
  json?: boolean;
}

/**
 * `facepipe search <image>`: who is in this image? The image goes to the index service's
 * /v1/identify (--index-url, FACEPIPE_INDEX_URL), whose engine finds and embeds the faces; the CLI
 * starts no engine of its own.
 */
export function registerSearch(program: Command): void {
  addRuleOptions(program.command('search'))
    .description('identify the faces of an image against the index service: top-k persons per face and the decision')
    .argument('<image>', 'image file')
    .option('-k, --k <n>', `persons per face, 1 to ${MAX_K}`, intArg(1, MAX_K), DEFAULT_K)
    .option(
      '--json',
      'print one JSON object (the last line): {image, width, height, threshold, k, faces: [{box, score, landmarks, matches: [{personId, faceId, distance}], personId, decision: {score, threshold, marginWeight, maxDistance}}], error}',
    )
    .action(async (image: string, opts: SearchOptions, command: Command) => {
      const globals = command.optsWithGlobals();
      const client = new IndexClient(loadAppConfig(globals).indexUrl);
      // Sent to the service as query parameters: they override its rule for this request only.
      const rule = ruleOverrides(globals);
      const { adapter } = loadEngineConfig(globals);
      if (adapter !== undefined) {
        // The service's engine embeds the image: make sure it is the adapter asked for.
        const wanted = (await resolveEmbeddingModel(adapter)).id;
        const served = (await client.status()).model;
        if (served !== wanted)
          throw new Error(
            `the index service at ${client.baseUrl} serves ${served}, not ${wanted}: start it with the same --adapter`,
          );
      }
      const bytes = await readFile(image).catch((err: NodeJS.ErrnoException) => {
        throw new Error(`${image}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
      });

      let result: IdentifyResponse | null = null;
      let error: FaceErrorJson | null = null;
      try {
        result = await client.identify(bytes, opts.k, { name: image, ...rule });
      } catch (err) {
        // The engine refused the image (not an image, truncated, ...): that image's error, like detect's.
        if (!(err instanceof IndexServiceError && err.status === 400 && isFaceErrorCode(err.code))) throw err;
        error = { code: err.code, message: err.message };
      }

      if (opts.json) {
        printJson({
          image,
          width: result?.width ?? null,
          height: result?.height ?? null,
          threshold: result?.threshold ?? null,
          k: opts.k,
          faces: result?.faces ?? [],
          error,
        });
      } else if (error) {
        process.stderr.write(`facepipe search: ${error.code}: ${error.message}\n`);
      } else {
        printHuman(image, result!);
      }
      process.exitCode = error ? EXIT.failed : EXIT.ok;
    });
}

function printHuman(image: string, { faces, threshold }: IdentifyResponse): void {
  if (faces.length === 0) {
    printLine(`${image}\tno face`);
    return;
  }
  faces.forEach((face, i) => {
    const b = [face.box.x, face.box.y, face.box.width, face.box.height].map((v) => Math.round(v));
    printLine(
      `${image}\tface ${i + 1}/${faces.length}\tbox x=${b[0]} y=${b[1]} w=${b[2]} h=${b[3]}\tscore ${fixed(face.score, 2)}\t${decision(face, threshold)}`,
    );
    face.matches.forEach((m, rank) => {
      printLine(`  ${rank + 1}. ${m.personId}\tdistance ${fixed(m.distance)}\t(face ${m.faceId})`);
    });
  });
}

function decision({ personId, matches, decision: d }: IdentifiedFace, threshold: number): string {
  const best = matches[0];
  // The rule's score next to the distance: why the face was named or not.
  const why =
    d?.score == null
      ? ''
      : `rule score ${fixed(d.score)} vs threshold ${fixed(d.threshold)}, margin weight ${d.marginWeight}, distance cap ${fixed(d.maxDistance)}`;
  if (personId !== null) return `-> ${personId} (${why})`;
  if (!best) return '-> nobody (the index is empty)';
  if (d === undefined)
    return `-> nobody (closest: ${best.personId} at ${fixed(best.distance)}, threshold ${threshold})`;
  const reason = best.distance > d.maxDistance ? 'farther than the distance cap' : 'score above the threshold';
  return `-> nobody (closest: ${best.personId} at ${fixed(best.distance)}; ${reason}: ${why})`;
}

function isFaceErrorCode(code: string): code is FaceErrorCode {
  return (FACE_ERROR_CODES as readonly string[]).includes(code);
}
