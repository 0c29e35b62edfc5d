/**
 * npx tsx bench/person-directory-bench.ts [--persons 100000 --faces 2 --repeat 50]
 *
 * The person directory behind GET /v1/persons (src/index/person-directory.ts) at the issue's
 * 100,000 persons: CPU time (process.cpuUsage, so a loaded machine inflates it less than wall
 * time) of a first page, a deep page, a search by name, a search that matches nothing, and a
 * first page right after a change (the sorted list is redone then). Synthetic records, no storage.
 * Human lines first; the LAST line is one JSON object.
 */
import { z } from 'zod';
import type { GalleryRecord } from '../src/gallery/gallery-record.js';
import { PersonDirectory } from '../src/index/person-directory.js';
import { integer, optionsOrExit, parseOptions } from './bench-options.js';

const options = optionsOrExit('person-directory-bench', () =>
  parseOptions(
    {
      persons: { type: 'string', default: '100000' },
      faces: { type: 'string', default: '2' },
      repeat: { type: 'string', default: '50' },
    },
    z.object({ persons: integer(1), faces: integer(1), repeat: integer(1) }),
  ),
);

const FIRST_NAMES = ['Ann', 'Bob', 'Cid', 'Dora', 'Eve', 'Finn', 'Gus', 'Hana', 'Ivo', 'Jo'];

function records(persons: number, faces: number): GalleryRecord[] {
  const out: GalleryRecord[] = [];
  const enrolledAt = new Date().toISOString();
  for (let p = 0; p < persons; p++) {
    const personId = `emp-${String(p).padStart(6, '0')}`;
    for (let f = 0; f < faces; f++) {
      out.push({
        faceId: `f${p}-${f}`,
        personId,
        name: `${FIRST_NAMES[p % FIRST_NAMES.length]} Number${p}`,
        source: 'file:///archive',
        sourceKey: `archive/${personId}/${f}.jpg`,
        sourceEtag: 'e',
        box: { x: 0, y: 0, width: 100, height: 100 },
        landmarks: [],
        score: 0.9,
        model: 'bench',
        embedding: [],
        enrolledAt,
      });
    }
  }
  return out;
}

/** Mean CPU ms (user + system) of `work` over `repeat` runs. */
function cpuMs(repeat: number, work: () => unknown): number {
  const start = process.cpuUsage();
  for (let i = 0; i < repeat; i++) work();
  const { user, system } = process.cpuUsage(start);
  return (user + system) / 1000 / repeat;
}

const directory = new PersonDirectory();
const loadMs = cpuMs(1, () => directory.addRecords(records(options.persons, options.faces)));
directory.list({ limit: 1, offset: 0 }); // the sorted list, once

const figures = {
  persons: directory.size,
  faces: directory.faces,
  loadMs,
  firstPageMs: cpuMs(options.repeat, () => directory.list({ limit: 50, offset: 0 })),
  deepPageMs: cpuMs(options.repeat, () => directory.list({ limit: 50, offset: options.persons - 50 })),
  searchNameMs: cpuMs(options.repeat, () => directory.list({ search: 'hana number9', limit: 50, offset: 0 })),
  searchNoneMs: cpuMs(options.repeat, () => directory.list({ search: 'nobody-at-all', limit: 50, offset: 0 })),
  // A change (a rename re-records a face) makes the next read sort every person again.
  afterChangeMs: cpuMs(options.repeat, () => {
    const at = new Date().toISOString();
    directory.addRecords([{ ...records(1, 1)[0], name: `Renamed ${at}`, enrolledAt: at }]);
    directory.list({ limit: 50, offset: 0 });
  }),
};
for (const [name, value] of Object.entries(figures))
  console.log(`${name.padEnd(14)} ${typeof value === 'number' && !Number.isInteger(value) ? value.toFixed(2) : value}`);
console.log(JSON.stringify(figures));
