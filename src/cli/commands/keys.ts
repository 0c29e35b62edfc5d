import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { Redis } from 'ioredis';
import { type AppConfig, loadAppConfig } from '../../config/app-config.js';
import { API_ROLES, type ApiRole, isApiRole } from '../../index/auth/api-key.js';
import { ApiKeyStore } from '../../index/auth/api-key-store.js';
import { apiKeysKey } from '../../queue/queue-names.js';
import { redactUrl } from '../../util/redact-url.js';
import { EXIT, printJson, printLine } from '../output.js';

/**
 * `facepipe keys create|list|revoke`: the deployment's API keys, in its Redis under its queue
 * prefix and storage (the same settings as the service's), so every running service accepts a new
 * key, and refuses a revoked one, within seconds (ApiKeyRing re-reads them).
 */
export function registerKeys(program: Command): void {
  const keys = program
    .command('keys')
    .description("the deployment's API keys (in its Redis: --redis-url, --queue-prefix, --storage)");

  keys
    .command('create')
    .description('a new API key: printed once (only its SHA-256 is stored)')
    .requiredOption('--role <role>', `${API_ROLES.join(' or ')}`, roleArg)
    .option('--json', 'print one JSON object: {key, role, id, sha256}')
    .action(async (opts: { role: ApiRole; json?: boolean }, command: Command) => {
      await withStore(command, async (store) => {
        const { key, record } = await store.create(opts.role);
        if (opts.json) printJson({ key, role: record.role, id: record.id, sha256: record.sha256 });
        else {
          printLine(key);
          process.stderr.write(
            `key ${record.id} (${record.role}) created: it is shown only now; send it as "Authorization: Bearer <key>" or set FACEPIPE_API_KEY\n`,
          );
        }
      });
      process.exitCode = EXIT.ok;
    });

  keys
    .command('list')
    .description('the stored keys: id, role, created (never the key)')
    .option('--json', 'print one JSON object: {keys: [{id, role, created}]}')
    .action(async (opts: { json?: boolean }, command: Command) => {
      await withStore(command, async (store) => {
        const all = (await store.list()).map(({ id, role, created }) => ({ id, role, created }));
        if (opts.json) printJson({ keys: all });
        else {
          printLine(`${all.length} key(s)`);
          for (const { id, role, created } of all) printLine(`${id}\t${role}\t${created}`);
        }
      });
      process.exitCode = EXIT.ok;
    });

  keys
    .command('revoke')
    .description('remove a key: every service refuses it within seconds')
    .argument('<id>', 'the key id (keys list)')
    .action(async (id: string, _opts: unknown, command: Command) => {
      let revoked = false;
      await withStore(command, async (store) => {
        revoked = await store.revoke(id);
      });
      if (revoked) {
        printLine(`revoked key ${id}`);
        process.exitCode = EXIT.ok;
      } else {
        process.stderr.write(`facepipe: no key ${id} (facepipe keys list shows the ids)\n`);
        process.exitCode = EXIT.failed;
      }
    });
}

function roleArg(value: string): ApiRole {
  if (!isApiRole(value)) throw new InvalidArgumentError(`expected ${API_ROLES.join(' or ')}`);
  return value;
}

/** Runs `fn` on the deployment's key store; an unreachable Redis is one line naming it (password masked). */
async function withStore(command: Command, fn: (store: ApiKeyStore) => Promise<void>): Promise<void> {
  const config: AppConfig = loadAppConfig(command.optsWithGlobals());
  const redis = new Redis(config.redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 5000,
    retryStrategy: () => null,
  });
  let lastError: Error | undefined;
  redis.on('error', (err: Error) => (lastError = err)); // reported below, in one line
  try {
    try {
      await redis.connect();
    } catch (err) {
      const reason = (lastError ?? (err as Error)).message;
      throw new Error(`cannot reach Redis at ${redactUrl(config.redisUrl)}: ${reason} (start Redis or set REDIS_URL)`);
    }
    await fn(new ApiKeyStore(redis, apiKeysKey(config)));
  } finally {
    redis.disconnect();
  }
}
