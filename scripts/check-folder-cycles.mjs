#!/usr/bin/env node
// dependency-cruiser's `circular` rule sees cycles between files, not between folders (it does not
// evaluate it on a collapsed graph), so the folder rule of DESIGN.md ("no cycles between folders")
// is checked here on its folder graph: strongly connected components of src/<folder>/.
import { cruise } from 'dependency-cruiser';

const result = await cruise(['src'], {
  collapse: '^src/[^/]+/',
  doNotFollow: { path: 'node_modules' },
  tsPreCompilationDeps: true,
  outputType: 'json',
});
const graph = new Map();
const output = typeof result.output === 'string' ? JSON.parse(result.output) : result.output;
for (const module of output.modules) {
  if (!module.source.startsWith('src/')) continue;
  const targets = module.dependencies.map((d) => d.resolved).filter((t) => t.startsWith('src/') && t !== module.source);
  graph.set(module.source, targets);
}

// Tarjan's algorithm: every component of more than one folder is a cycle.
let counter = 0;
const index = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const cycles = [];
function visit(node) {
  index.set(node, counter);
  low.set(node, counter);
  counter += 1;
  stack.push(node);
  onStack.add(node);
  for (const next of graph.get(node) ?? []) {
    if (!index.has(next)) {
      visit(next);
      low.set(node, Math.min(low.get(node), low.get(next)));
    } else if (onStack.has(next)) {
      low.set(node, Math.min(low.get(node), index.get(next)));
    }
  }
  if (low.get(node) === index.get(node)) {
    const component = [];
    let member;
    do {
      member = stack.pop();
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1) cycles.push(component.sort());
  }
}
for (const node of graph.keys()) if (!index.has(node)) visit(node);

if (cycles.length === 0) {
  console.log(`no cycles between folders (${graph.size} folders of src/)`);
} else {
  for (const cycle of cycles) {
    const edges = cycle.flatMap((from) =>
      (graph.get(from) ?? []).filter((to) => cycle.includes(to)).map((to) => `${from} -> ${to}`),
    );
    console.error(`folder cycle: ${cycle.join(', ')}\n  ${edges.join('\n  ')}`);
  }
  process.exitCode = 1;
}
