import type { Command } from 'commander';
import { loadIdentificationConfig } from '../config/identification-config.js';
import type { IdentificationRule } from '../engine/model-card.js';

/** The 1:N rule's flags, on the commands that decide (serve, up, worker, search, identify, calibrate). */
export function addRuleOptions(command: Command): Command {
  return command
    .option(
      '--identification-threshold <score>',
      '1:N: name a face when the rule score is at most this (env FACEPIPE_IDENTIFICATION_THRESHOLD; default: the deployment calibrated one, else the model card)',
    )
    .option(
      '--margin-weight <w>',
      '1:N: weight of the margin to the runners-up in the score, 0 = plain distance (env FACEPIPE_MARGIN_WEIGHT)',
    );
}

/** The rule settings given by flag or environment (validated; a bad one is a ConfigError, exit 2). */
export function ruleOverrides(opts: Record<string, unknown>): Partial<IdentificationRule> {
  const { threshold, marginWeight } = loadIdentificationConfig({
    identificationThreshold: opts.identificationThreshold as string | undefined,
    marginWeight: opts.marginWeight as string | undefined,
  });
  return {
    ...(threshold !== undefined ? { threshold } : {}),
    ...(marginWeight !== undefined ? { marginWeight } : {}),
  };
}
