import type { Command } from 'commander';
import { loadAppConfig } from '../../config/app-config.js';
import { DEFAULT_PERSONS_LIMIT, MAX_PERSONS_LIMIT } from '../../index/index-api-schemas.js';
import { IndexClient } from '../../index/index-client.js';
import { IndexServiceError } from '../../index/index-service-error.js';
import { intArg } from '../arg-parsers.js';
import { EXIT, printJson, printLine } from '../output.js';

/**
 * `facepipe persons list|show|delete`: the gallery as the index service holds it, over its HTTP
 * API (--index-url / FACEPIPE_INDEX_URL). No engine is started.
 */
export function registerPersons(program: Command): void {
  const persons = program
    .command('persons')
    .description('list, show or delete the persons in the index service (--index-url, FACEPIPE_INDEX_URL)');

  persons
    .command('list')
    .description('the persons in the index, sorted by id, with their number of faces')
    .option(
      '--limit <n>',
      `at most this many persons, 1 to ${MAX_PERSONS_LIMIT} (default: ${DEFAULT_PERSONS_LIMIT})`,
      intArg(1, MAX_PERSONS_LIMIT),
    )
    .option('--offset <n>', 'skip this many persons first (default: 0)', intArg(0))
    .option('--json', 'print one JSON object (the last line): {persons, faces, items: [{personId, faces}]}')
    .action(async (opts: { limit?: number; offset?: number; json?: boolean }, command: Command) => {
      const page = await indexClient(command).persons({ limit: opts.limit, offset: opts.offset });
      if (opts.json) printJson(page);
      else {
        const offset = opts.offset ?? 0;
        const shown = page.items.length === 0 ? 'none shown' : `showing ${offset + 1}-${offset + page.items.length}`;
        printLine(`${page.persons} person(s), ${page.faces} face(s) in the index (${shown})`);
        for (const { personId, faces } of page.items) printLine(`${personId}\t${faces} face(s)`);
      }
      process.exitCode = EXIT.ok;
    });

  persons
    .command('show')
    .description("one person's faces in the index")
    .argument('<personId>')
    .option('--json', 'print one JSON object (the last line): {personId, faces: [faceId]}')
    .action(async (personId: string, opts: { json?: boolean }, command: Command) => {
      const person = await knownPerson(() => indexClient(command).person(personId), personId);
      if (!person) return;
      if (opts.json) printJson(person);
      else {
        printLine(`${person.personId}\t${person.faces.length} face(s)`);
        for (const faceId of person.faces) printLine(`  ${faceId}`);
      }
      process.exitCode = EXIT.ok;
    });

  persons
    .command('delete')
    .description('remove a person and every face of theirs from the index (and, by the service, from the gallery)')
    .argument('<personId>')
    .option('--json', 'print one JSON object (the last line): {personId, removed}')
    .action(async (personId: string, opts: { json?: boolean }, command: Command) => {
      const deleted = await knownPerson(() => indexClient(command).deletePerson(personId), personId);
      if (!deleted) return;
      if (opts.json) printJson(deleted);
      else printLine(`deleted ${deleted.personId}: ${deleted.removed} face(s) removed`);
      process.exitCode = EXIT.ok;
    });
}

/** The client of the configured index service; a bad --index-url is a usage error (ConfigError). */
function indexClient(command: Command): IndexClient {
  return new IndexClient(loadAppConfig(command.optsWithGlobals()).indexUrl);
}

/** Runs `call`; an unknown person is a clear message and exit 1 (other failures propagate: exit 1). */
async function knownPerson<T>(call: () => Promise<T>, personId: string): Promise<T | undefined> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof IndexServiceError && err.status === 404 && err.code === 'NOT_FOUND') {
      process.stderr.write(
        `facepipe: no person ${JSON.stringify(personId)} in the index (see \`facepipe persons list\`)\n`,
      );
      process.exitCode = EXIT.failed;
      return undefined;
    }
    throw err;
  }
}
