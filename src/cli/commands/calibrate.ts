import { type Command, InvalidArgumentError } from 'commander';
import { loadAppConfig } from '../../config/app-config.js';
import { calibrateThreshold, type Calibration } from '../../identification/calibration.js';
import { IdentificationSettingsStore } from '../../identification/identification-settings-store.js';
import { matedProbes, strangerProbes } from '../../index/calibration-probes.js';
import { IndexClient } from '../../index/index-client.js';
import { openStorage } from '../../storage/open-storage.js';
import { numberArg } from '../arg-parsers.js';
import { deploymentModel } from '../engine-session.js';
import { EXIT, fixed, printJson, printLine } from '../output.js';
import { addRuleOptions, ruleOverrides } from '../rule-options.js';

interface CalibrateOptions {
  strangers: string;
  targetFpir: number;
  mated?: string;
  apply?: boolean;
  json?: boolean;
}

/**
 * `facepipe calibrate`: the 1:N threshold that holds the false-identification rate at a target for
 * THIS gallery. The photos go to the index service (its engine and its rule, as for `search`);
 * src/identification/calibration.ts picks the threshold; --apply stores it in the deployment's
 * storage, where the service and the workers pick it up within seconds.
 */
export function registerCalibrate(program: Command): void {
  addRuleOptions(program.command('calibrate'))
    .description(
      "the 1:N threshold that names at most --target-fpir of the strangers' faces against the live index; --apply makes it the deployment's",
    )
    .requiredOption(
      '--strangers <folder-or-prefix>',
      'photos of people known NOT to be enrolled: a folder, file:///path or s3://bucket/prefix',
    )
    .requiredOption('--target-fpir <rate>', 'false-positive identification rate to hold, e.g. 0.01', (v) => {
      const n = numberArg(0)(v);
      if (n <= 0 || n >= 1) throw new InvalidArgumentError('expected a rate between 0 and 1, e.g. 0.01.');
      return n;
    })
    .option('--mated <folder>', 'labelled photos <folder>/<personId>/<image> of enrolled people: the TPIR it leaves')
    .option('--apply', "store the threshold (and its margin weight) as the deployment's 1:N rule")
    .option(
      '--json',
      'print one JSON object (the last line): {model, threshold, marginWeight, maxDistance, targetFpir, fpir, strangers, strangersNamed, tpir, mated, applied, ...}',
    )
    .action(async (opts: CalibrateOptions, command: Command) => {
      const globals = command.optsWithGlobals();
      const config = loadAppConfig(globals);
      const client = new IndexClient(config.indexUrl);
      const override = ruleOverrides(globals);
      if (override.threshold !== undefined)
        throw new Error('--identification-threshold: calibrate picks the threshold; give --margin-weight only');
      // The deployment's model names the stored setting; the service refuses another model's vectors anyway.
      const model = (await deploymentModel(globals)).id;
      const served = await client.status().catch(() => undefined);
      if (served !== undefined && served.model !== model)
        throw new Error(
          `the index service at ${client.baseUrl} serves ${served.model}, not ${model}: give calibrate the same --adapter`,
        );
      const { persons } = await client.persons({ limit: 1 });

      const strangers = await strangerProbes(client, opts.strangers, override);
      if (strangers.probes.length === 0)
        throw new Error(`${opts.strangers}: no face found in ${strangers.images} image(s): nothing to calibrate on`);
      const mated = opts.mated === undefined ? undefined : await matedProbes(client, opts.mated, override);
      // The service's rule: its margin weight scored the faces, its 1:1 threshold caps the distance.
      const rule = strangers.rule!;
      const result = calibrateThreshold(strangers.probes, opts.targetFpir, rule, mated?.probes ?? []);

      let applied = false;
      if (opts.apply) {
        await new IdentificationSettingsStore(openStorage(config.storage), model).write({
          schema: 'facepipe.identification/v1',
          threshold: result.threshold,
          marginWeight: rule.marginWeight,
          calibration: {
            targetFpir: result.targetFpir,
            fpir: result.fpir,
            strangers: result.strangers,
            tpir: result.tpir,
            mated: result.mated,
            galleryPersons: persons,
            calibratedAt: new Date().toISOString(),
          },
        });
        applied = true;
      }
      const failed = [...strangers.failed, ...(mated?.failed ?? [])];
      if (opts.json) {
        printJson({
          model,
          galleryPersons: persons,
          ...result,
          marginWeight: rule.marginWeight,
          maxDistance: rule.maxDistance,
          previousThreshold: rule.threshold,
          strangerImages: strangers.images,
          strangerImagesWithoutFace: strangers.noFace,
          matedImages: mated?.images ?? 0,
          matedNotEnrolled: mated?.notEnrolled ?? [],
          failed,
          applied,
        });
      } else {
        printHuman(result, { model, persons, rule, strangers, mated, applied, storage: config.storage });
        for (const f of failed) process.stderr.write(`facepipe calibrate: ${f.key}: ${f.code}: ${f.message}\n`);
      }
      process.exitCode = failed.length > 0 ? EXIT.failed : EXIT.ok;
    });
}

function printHuman(
  r: Calibration,
  ctx: {
    model: string;
    persons: number;
    rule: { marginWeight: number; maxDistance: number; threshold: number };
    strangers: { images: number; noFace: number };
    mated?: { images: number; notEnrolled: string[]; unlabelled: string[] };
    applied: boolean;
    storage: string;
  },
): void {
  const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
  printLine(`gallery: ${ctx.persons} person(s), model ${ctx.model}`);
  printLine(
    `strangers: ${r.strangers} face(s) in ${ctx.strangers.images} image(s)` +
      (ctx.strangers.noFace > 0 ? ` (${ctx.strangers.noFace} without a face)` : ''),
  );
  printLine(
    `threshold ${fixed(r.threshold, 4)} (margin weight ${ctx.rule.marginWeight}, distance cap ${fixed(ctx.rule.maxDistance)}; in force now ${fixed(ctx.rule.threshold, 4)})`,
  );
  printLine(`FPIR ${pct(r.fpir)} (${r.strangersNamed}/${r.strangers} strangers named), target ${pct(r.targetFpir)}`);
  if (!r.targetMet)
    printLine(
      `warning: FPIR ${pct(r.fpir)} is above the target even at threshold 0: ${r.strangersNamed} stranger face(s) stand out as close to one enrolled person (look-alikes, or people who are in fact enrolled?)`,
    );
  if (r.tooFewStrangers)
    printLine(
      `note: ${r.strangers} stranger faces cannot resolve ${pct(r.targetFpir)}; the threshold names none of them (give at least ${Math.ceil(1 / r.targetFpir)})`,
    );
  if (ctx.mated) {
    printLine(`TPIR ${r.tpir === null ? 'n/a' : pct(r.tpir)} (${r.mated} mated photo(s) of enrolled people)`);
    if (ctx.mated.notEnrolled.length > 0) printLine(`not enrolled, left out: ${ctx.mated.notEnrolled.join(', ')}`);
    if (ctx.mated.unlabelled.length > 0)
      printLine(`not in a <personId>/ folder, left out: ${ctx.mated.unlabelled.length} photo(s)`);
  }
  printLine(
    ctx.applied
      ? `applied: the deployment's 1:N rule in ${ctx.storage} (services and workers pick it up within seconds; explicit --identification-threshold / FACEPIPE_IDENTIFICATION_THRESHOLD settings still win)`
      : 'not applied (add --apply to make it the deployment threshold)',
  );
}
