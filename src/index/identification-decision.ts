/**
 * The 1:N decision for one probe face: who is it, or nobody (DESIGN.md, "The ideas it rests on").
 * Kept in one function so that the rule can be made stricter in one place.
 */
import type { IdentifyMatch } from './index-api-schemas.js';

/**
 * The person of the closest match when its distance is within `threshold` (distance <= threshold),
 * else null ("nobody in the gallery"). `matches` need not be sorted.
 */
export function decideIdentity(matches: readonly IdentifyMatch[], threshold: number): string | null {
  let best: IdentifyMatch | undefined;
  for (const m of matches) if (best === undefined || m.distance < best.distance) best = m;
  return best !== undefined && best.distance <= threshold ? best.personId : null;
}
