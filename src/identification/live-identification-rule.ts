/**
 * The 1:N rule a running worker or index service applies, kept current: explicit settings (flag or
 * environment) win; otherwise the deployment's stored rule (`facepipe calibrate --apply`), polled
 * every few seconds so that a new calibration reaches every process without a restart; otherwise
 * the model card's. With hub normalisation on, the same goes for the per-person cohort offsets
 * (`facepipe gallery hubs --apply`, cohort-offsets-store.ts).
 */
import { logger } from '../logger.js';
import type { CohortOffsetsStore } from './cohort-offsets-store.js';
import type { IdentificationRule } from './identification-rule.js';
import type { IdentificationSettingsStore } from './identification-settings-store.js';

/** How often the stored rule is looked at (one HEAD request). */
export const DEFAULT_RULE_POLL_MS = 5000;

export interface LiveRuleOptions {
  /** The model card's rule: the fallback. */
  fallback: IdentificationRule;
  /** Explicit settings (flags, environment): they win over the stored rule. */
  overrides?: Partial<IdentificationRule>;
  pollMs?: number;
  /**
   * Hub normalisation (FACEPIPE_HUB_NORMALISATION): the stored per-person offsets are added to the
   * distances before the rule. Without a store, or off, there are none.
   */
  offsets?: { store: CohortOffsetsStore; enabled: boolean };
}

export type RuleSource = 'settings' | 'deployment' | 'model';

export class LiveIdentificationRule {
  private stored: IdentificationRule | null = null;
  private version: string | null = null;
  private offsets: ReadonlyMap<string, number> | undefined;
  private offsetsVersion: string | null = null;
  private timer?: NodeJS.Timeout;
  private polling?: Promise<void>;

  constructor(
    private readonly store: IdentificationSettingsStore,
    private readonly options: LiveRuleOptions,
  ) {}

  /** The rule to apply now. */
  current(): IdentificationRule {
    const { fallback, overrides = {} } = this.options;
    const base = this.stored ?? fallback;
    // A stored threshold was calibrated with its own margin weight: an explicit weight alone
    // would pair it with the wrong one, so an explicit weight without a threshold drops back to the model's.
    const pairedBase = overrides.marginWeight !== undefined && overrides.threshold === undefined ? fallback : base;
    return {
      threshold: overrides.threshold ?? pairedBase.threshold,
      marginWeight: overrides.marginWeight ?? pairedBase.marginWeight,
    };
  }

  /** The per-person offsets to add to distances (DecisionRule.entryOffsets); undefined when off or none stored. */
  entryOffsets(): ReadonlyMap<string, number> | undefined {
    return this.options.offsets?.enabled ? this.offsets : undefined;
  }

  /** Where the current rule comes from. */
  source(): RuleSource {
    const { overrides = {} } = this.options;
    if (overrides.threshold !== undefined || overrides.marginWeight !== undefined) return 'settings';
    return this.stored ? 'deployment' : 'model';
  }

  /** Reads the stored rule once (a bad one is logged and ignored), then polls for changes. */
  async start(): Promise<void> {
    await this.refresh();
    logger.info({ rule: this.current(), source: this.source(), key: this.store.key }, 'identification rule');
    const pollMs = this.options.pollMs ?? DEFAULT_RULE_POLL_MS;
    this.timer = setInterval(() => {
      this.polling ??= this.refresh().finally(() => {
        this.polling = undefined;
      });
    }, pollMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.polling;
  }

  /** Re-reads the stored rule (and offsets) when changed; errors are logged and what is in force kept. */
  async refresh(): Promise<void> {
    await Promise.all([this.refreshRule(), this.refreshOffsets()]);
  }

  private async refreshOffsets(): Promise<void> {
    const { offsets } = this.options;
    if (!offsets?.enabled) return;
    try {
      const version = await offsets.store.version();
      if (version === this.offsetsVersion) return;
      const stored = version === null ? null : await offsets.store.read();
      this.offsetsVersion = version;
      this.offsets = stored ? new Map(Object.entries(stored.offsets)) : undefined;
      logger.info(
        { key: offsets.store.key, persons: this.offsets?.size ?? 0 },
        stored ? 'hub normalisation: per-person offsets loaded' : 'hub normalisation: no offsets stored',
      );
    } catch (err) {
      logger.warn(
        { key: offsets.store.key, err: (err as Error).message },
        'cannot read the cohort offsets: keeping the ones in force',
      );
    }
  }

  private async refreshRule(): Promise<void> {
    try {
      const version = await this.store.version();
      if (version === this.version) return;
      const settings = version === null ? null : await this.store.read();
      this.version = version;
      const next = settings ? { threshold: settings.threshold, marginWeight: settings.marginWeight } : null;
      if (JSON.stringify(next) !== JSON.stringify(this.stored)) {
        this.stored = next;
        if (this.polling)
          logger.info(
            { rule: this.current(), source: this.source(), key: this.store.key },
            'identification rule changed',
          );
      }
    } catch (err) {
      logger.warn(
        { key: this.store.key, err: (err as Error).message },
        'cannot read the deployment identification rule: keeping the one in force',
      );
    }
  }
}
