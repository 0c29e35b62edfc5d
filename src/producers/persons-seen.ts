import { seenAtOf } from '../matches/match-store.js';
import type { ResultJson } from '../results/result-types.js';
import { compareKeys } from '../storage/compare-keys.js';
import type { PersonSeen } from './types.js';

/**
 * Who a run saw, gathered result by result: per person, the snapshots naming them (a snapshot
 * with the same person twice counts once) and the first and last by the time they were seen
 * (seenAtOf: when the snapshot was taken, as "where was X seen" orders them; ties by key).
 */
export class PersonsSeen {
  private readonly persons = new Map<string, PersonSeen>();

  add(result: ResultJson): void {
    const named = new Set(result.faces.flatMap((face) => (face.personId === null ? [] : [face.personId])));
    if (named.size === 0) return;
    const sighting = { key: result.input.key, at: seenAtOf(result) };
    for (const personId of named) {
      const person = this.persons.get(personId);
      if (person === undefined) {
        this.persons.set(personId, { personId, snapshots: 1, first: sighting, last: sighting });
        continue;
      }
      person.snapshots++;
      if (before(sighting, person.first)) person.first = sighting;
      if (before(person.last, sighting)) person.last = sighting;
    }
  }

  /** Most snapshots first, then by person id. */
  list(): PersonSeen[] {
    return [...this.persons.values()].sort((a, b) => b.snapshots - a.snapshots || compareKeys(a.personId, b.personId));
  }
}

function before(a: { key: string; at: string }, b: { key: string; at: string }): boolean {
  const byTime = Date.parse(a.at) - Date.parse(b.at);
  return byTime < 0 || (byTime === 0 && compareKeys(a.key, b.key) < 0);
}
