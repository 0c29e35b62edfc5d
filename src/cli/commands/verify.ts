import type { Command } from 'commander';
import { loadEngineConfig } from '../../config/engine-config.js';
import type { AnalyzedFace } from '../../engine/engine-types.js';
import { FACE_MODEL } from '../../engine/face-model.js';
import { selectBackend } from '../../engine/tf-backend.js';
import { verificationError, verifyFaces } from '../../identification/face-verification.js';
import { PairClassifier } from '../../training/pair-classifier.js';
import { numberArg } from '../arg-parsers.js';
import { withEngine } from '../engine-session.js';
import { EXIT, fixed, printJson, printLine } from '../output.js';

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('are two images the same person? distance between their faces <= threshold')
    .argument('<image1>')
    .argument('<image2>')
    .option(
      '--threshold <t>',
      `same person when distance <= t (default: the model's, ${FACE_MODEL.threshold} without adapter)`,
      numberArg(0),
    )
    .option(
      '--verifier <dir>',
      'decide with this trained pair classifier (facepipe train pair-classifier): same person when P(same) >= 0.5',
    )
    .option(
      '--json',
      'print one JSON object: {backend, model, threshold, distance, same, faces1, faces2, pairs, error}',
    )
    .action(
      async (
        path1: string,
        path2: string,
        opts: { threshold?: number; verifier?: string; json?: boolean },
        command: Command,
      ) => {
        const options = loadEngineConfig(command.optsWithGlobals());
        const { backend, model, analyses, error } = await withEngine(options, async (engine) => {
          const settled = await Promise.allSettled([engine.analyze(path1), engine.analyze(path2)]);
          const analyses = settled.map((s) => (s.status === 'fulfilled' ? s.value : undefined));
          return {
            backend: engine.backend,
            model: engine.model,
            analyses,
            error: verificationError(settled, [path1, path2]),
          };
        });
        const threshold = opts.threshold ?? model.threshold;
        const verifier =
          opts.verifier === undefined
            ? undefined
            : await PairClassifier.load((await selectBackend(options.backend)).tf, opts.verifier, model.id);

        const [faces1, faces2] = analyses.map((a) => a?.faces ?? []);
        const { pairs, distance, probability, same } = verifyFaces(error ? [] : faces1, faces2, {
          threshold,
          verifier,
        });
        verifier?.dispose();

        if (opts.json) {
          printJson({
            backend,
            model,
            threshold,
            ...(verifier ? { verifier: verifier.metadata.id, probability } : {}),
            distance,
            same,
            faces1: faces1.map(summary),
            faces2: faces2.map(summary),
            pairs,
            error,
          });
        } else if (error) {
          process.stderr.write(`facepipe verify: ${error.code}: ${error.message}\n`);
        } else {
          if (verifier)
            printLine(
              `${same ? 'same person' : 'different people'}: P(same) ${fixed(probability!)} by the pair classifier (distance ${fixed(distance!)})`,
            );
          else
            printLine(
              `${same ? `same person: distance ${fixed(distance!)} <= threshold` : `different people: distance ${fixed(distance!)} > threshold`} ${threshold}`,
            );
          if (pairs.length > 1) {
            printLine(`image1 has ${faces1.length} face(s), image2 ${faces2.length}; the closest pair decides:`);
            for (const p of pairs)
              printLine(
                `  image1 face ${p.face1 + 1} ${where(faces1[p.face1])} vs image2 face ${p.face2 + 1} ${where(faces2[p.face2])}: ${fixed(p.distance)}`,
              );
          }
        }
        process.exitCode = error ? EXIT.failed : EXIT.ok;
      },
    );
}

function summary({ box, score }: AnalyzedFace) {
  return { box, score };
}

function where({ box }: AnalyzedFace): string {
  return `(box ${Math.round(box.x)},${Math.round(box.y)} ${Math.round(box.width)}x${Math.round(box.height)})`;
}
