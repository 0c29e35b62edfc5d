import type { Command } from 'commander';
import { loadEngineConfig } from '../../config/engine-config.js';
import type { DetectedFace } from '../../engine/face-detector.js';
import type { FaceErrorJson } from '../../errors/face-error.js';
import { FACE_MODEL } from '../../engine/face-model.js';
import { errorJson } from '../../errors/error-json.js';
import { forEachConcurrent } from '../../util/for-each-concurrent.js';
import { inFlight, withEngine } from '../engine-session.js';
import { EXIT, fixed, printJson, printLine } from '../output.js';
import { progressBar } from '../progress-bar.js';

interface ImageDetection {
  key: string;
  width: number | null;
  height: number | null;
  faces: DetectedFace[];
  error: FaceErrorJson | null;
}

export function registerDetect(program: Command): void {
  program
    .command('detect')
    .description('find the faces in images: box, score and 68 landmarks per face')
    .argument('<image...>', 'image files')
    .option(
      '--json',
      'print one JSON object (the last line): {backend, model, images: [{key, width, height, faces, error}]}',
    )
    .action(async (paths: string[], opts: { json?: boolean }, command: Command) => {
      const options = loadEngineConfig(command.optsWithGlobals());
      const { backend, images } = await withEngine(options, async (engine) => {
        const images: ImageDetection[] = new Array(paths.length);
        const bar = progressBar('detect');
        let done = 0;
        await forEachConcurrent(paths.keys(), inFlight(options), async (i) => {
          const key = paths[i];
          try {
            const { width, height, faces } = await engine.detect(key);
            images[i] = { key, width, height, faces, error: null };
          } catch (err) {
            images[i] = { key, width: null, height: null, faces: [], error: errorJson(err) }; // the others go on
          }
          bar.update(++done, paths.length);
        });
        bar.stop();
        return { backend: engine.backend, images };
      });

      if (opts.json) printJson({ backend, model: FACE_MODEL, images });
      else images.forEach(printHuman);
      process.exitCode = images.some((image) => image.error) ? EXIT.failed : EXIT.ok;
    });
}

/** One line per face; an image without faces or with an error still gets one line. */
function printHuman({ key, faces, error }: ImageDetection): void {
  if (error) {
    printLine(`${key}\terror ${error.code}: ${error.message}`);
    return;
  }
  if (faces.length === 0) {
    printLine(`${key}\tno face`);
    return;
  }
  faces.forEach(({ box, score, landmarks }, i) => {
    const b = [box.x, box.y, box.width, box.height].map((v) => Math.round(v));
    printLine(
      `${key}\tface ${i + 1}/${faces.length}\tbox x=${b[0]} y=${b[1]} w=${b[2]} h=${b[3]}\tscore ${fixed(score, 2)}\t${landmarks.length} landmarks`,
    );
  });
}
