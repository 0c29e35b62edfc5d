import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import type { Command } from 'commander';
import { loadEngineConfig } from '../../config/engine-config.js';
import type { ImageAnalysis } from '../../engine/engine-types.js';
import type { FaceErrorJson } from '../../errors/face-error.js';
import type { Box } from '../../engine/types.js';
import { listImageFiles, IMAGE_EXTENSIONS } from '../../files/image-files.js';
import { errorJson } from '../../errors/error-json.js';
import { forEachConcurrent } from '../../util/for-each-concurrent.js';
import { inFlight, withEngine } from '../engine-session.js';
import { EXIT, printLine } from '../output.js';
import { progressBar } from '../progress-bar.js';

export function registerEmbed(program: Command): void {
  program
    .command('embed')
    .description('write the faces and embeddings of images to a JSONL file, one line per image')
    .argument(
      '<file-or-folder...>',
      `image files, or folders walked recursively for ${IMAGE_EXTENSIONS.join(' ')} files`,
    )
    .requiredOption(
      '--out <file.jsonl>',
      'output: lines {key, faces: [{box, score, embedding}], error}, in finishing order',
    )
    .action(async (args: string[], opts: { out: string }, command: Command) => {
      const options = loadEngineConfig(command.optsWithGlobals());
      const files = await listImageFiles(args);
      await mkdir(path.dirname(path.resolve(opts.out)), { recursive: true });
      const out = createWriteStream(opts.out);
      await once(out, 'open'); // an unwritable --out fails now, before the engine starts

      const counts = { images: 0, faces: 0, failed: 0 };
      let seconds = 0;
      if (files.length > 0) {
        await withEngine(options, async (engine) => {
          const started = performance.now();
          const bar = progressBar('embed');
          bar.update(0, files.length);
          await forEachConcurrent(files, inFlight(options), async ({ path: file, key }) => {
            let record: { key: string; faces: FaceJson[]; error: FaceErrorJson | null };
            try {
              record = { key, faces: facesJson(await engine.analyze(file)), error: null };
            } catch (err) {
              record = { key, faces: [], error: errorJson(err) }; // the others go on
            }
            counts.faces += record.faces.length;
            if (record.error) counts.failed++;
            bar.update(++counts.images, files.length);
            if (!out.write(`${JSON.stringify(record)}\n`)) await once(out, 'drain');
          });
          bar.stop();
          seconds = (performance.now() - started) / 1000;
        });
      }
      out.end();
      await finished(out);

      const rate = seconds > 0 ? (counts.images / seconds).toFixed(2) : '0';
      printLine(
        `${counts.images} images, ${counts.faces} faces, ${counts.failed} failed, ${rate} images/s -> ${opts.out}`,
      );
      process.exitCode = counts.failed > 0 ? EXIT.failed : EXIT.ok;
    });
}

interface FaceJson {
  box: Box;
  score: number;
  embedding: number[];
}

/**
 * Embeddings as plain numbers, each printed with the 9 significant digits that round-trip a
 * float32 exactly (its double expansion would double the file size for nothing).
 */
function facesJson({ faces }: ImageAnalysis): FaceJson[] {
  return faces.map(({ box, score, embedding }) => ({
    box,
    score,
    embedding: Array.from(embedding, (v) => Number(v.toPrecision(9))),
  }));
}
