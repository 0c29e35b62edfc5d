/**
 * Architecture rules (DESIGN.md "Layout"), checked by `npm run lint`.
 * Folders are the units: a cycle between two files of one folder is that folder's own business.
 */
const folder = '^src/([^/]+)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-folder-cycles',
      comment: 'Folders form layers: no chain of imports leads from a folder back to itself.',
      severity: 'error',
      from: { path: folder },
      to: { path: folder, pathNot: '^src/$1/', circular: true },
    },
    {
      name: 'engine-is-a-leaf',
      comment: 'The engine knows images and networks only: it imports none of the modules built on it.',
      severity: 'error',
      from: { path: '^src/engine/' },
      to: {
        path: '^src/(training|evaluation|workers|producers|index|cli|queue|gallery|results|matches|http|console|identification|config|demo)/',
      },
    },
    {
      name: 'nothing-imports-cli',
      comment: 'The CLI parses flags and prints; no module depends on it.',
      severity: 'error',
      from: { pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'producers-and-workers-meet-in-queue',
      comment: 'Job contracts live in src/queue; producers and workers never import each other.',
      severity: 'error',
      from: { path: '^src/(producers|workers)/' },
      to: { path: '^src/(producers|workers)/', pathNot: '^src/$1/' },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
