/**
 * The answers of the API routes the console reads, as far as it uses them. The browser bundle does
 * not import the service's modules (they are Node code): these mirror index-api-schemas.ts,
 * match-schemas.ts and index/console/console-schemas.ts, and the browser test checks them on the
 * real service.
 */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface PersonItem {
  personId: string;
  /** Display name (console-api: kept with the person), when there is one. */
  name?: string;
  faces: number;
  lastSeen?: string;
}

export interface PersonsPage {
  persons: number;
  faces: number;
  /** With a search, how many persons match it (console-api), when the service says. */
  total?: number;
  items: PersonItem[];
}

export interface EnrolledFace {
  faceId: string;
  sourceKey: string;
  box: Box;
  score: number;
  quality?: { size: number; blur: number; pose: number };
  flags?: string[];
  enrolledAt: string;
}

export interface Person {
  personId: string;
  name?: string;
  faces: string[];
  enrolled?: EnrolledFace[];
}

export interface Sighting {
  personId: string;
  run: string;
  key: string;
  resultKey: string;
  faceIndex: number;
  box: Box;
  distance: number | null;
  seenAt: string;
  camera?: string;
}

export interface SightingsPage {
  personId: string;
  total: number;
  items: Sighting[];
}

export interface RunCounts {
  results: number;
  faces: number;
  named: number;
  unknown: number;
  errors: number;
}

export interface RunSummary {
  run: string;
  source: string;
  createdAt: string;
  completedAt?: string;
  snapshots: number;
  counts: RunCounts;
}

export interface SnapshotFace {
  box: Box;
  score?: number;
  personId: string | null;
  outcome?: string;
  decision?: { score: number | null; threshold: number };
  matches: { personId: string; distance: number }[];
}

export interface RunSnapshot {
  key: string;
  resultKey: string;
  width?: number;
  height?: number;
  captured?: string;
  error: { code: string; message: string } | null;
  faces: SnapshotFace[];
}

export type RunFilter = 'all' | 'named' | 'unknown' | 'errors';

export interface RunPage extends RunSummary {
  filter: RunFilter;
  total: number;
  items: RunSnapshot[];
}

export interface IdentifiedFace {
  box: Box;
  score: number;
  matches: { personId: string; faceId: string; distance: number }[];
  personId: string | null;
  decision: { score: number | null; threshold: number; marginWeight: number; maxDistance: number };
}

export interface IdentifyAnswer {
  width: number;
  height: number;
  threshold: number;
  faces: IdentifiedFace[];
}

export interface IndexStatus {
  model: string;
  ready: boolean;
  loaded?: boolean;
  faces: number;
  persons: number;
  m: number;
  efConstruction: number;
  ef: number;
  changePosition: string;
  loadedFrom: string;
  lastSnapshot?: string;
  rebuild: { state: string; startedAt?: string; finishedAt?: string; error?: string };
  quarantined?: number;
  erasure?: { pending: boolean; at?: string };
  error?: string;
}
