// Turns parsed flags into the things commands work with: the store, the source, the log.
// Precedence: flags > environment > config file > defaults (config.ts).
import { Option, type Command } from 'commander';
import { DEFAULT_STORE, ENV, loadConfigFile, parseDuration, pick, pickList, type ConfigFile } from '../config.ts';
import type { AgeCipher } from '../crypt/age-cipher.ts';
import { loadCipher } from '../crypt/key-files.ts';
import { attachCipher } from '../crypt/store-cipher.ts';
import { Interrupted, UsageError } from '../errors.ts';
import { createLog, type Log } from '../log.ts';
import { adoptManifest } from '../backup/commit.ts';
import { openStore, type OpenStoreOptions } from '../store/open-store.ts';
import type { RetryingStoreOptions } from '../store/retrying-store.ts';
import type { Store } from '../store/store.ts';
import { connectSource, type Source } from '../source/connect-source.ts';
import { createOutput, type Output } from './output.ts';

export interface GlobalFlags {
  store?: string;
  endpoint?: string;
  region?: string;
  pathStyle?: boolean;
  sse?: string;
  sseKmsKeyId?: string;
  encrypt?: string[];
  identity?: string[];
  config?: string;
  adoptManifest?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export function addGlobalOptions(program: Command): Command {
  return program
    .option('--store <url>', `where backups live: s3://bucket/prefix or file:///path (env ${ENV.store}; default ${DEFAULT_STORE})`)
    .option('--endpoint <url>', `S3 endpoint for S3-compatible stores such as MinIO (env ${ENV.endpoint})`)
    .option('--region <region>', 'S3 region (env AWS_REGION)')
    .option('--path-style', 'path-style S3 addressing (MinIO); on by default with --endpoint')
    .addOption(new Option('--sse <kind>', 'S3 server-side encryption').choices(['AES256', 'aws:kms']))
    .option('--sse-kms-key-id <id>', 'KMS key for --sse aws:kms')
    .option('--encrypt <recipient>', `encrypt new objects client-side to an age public key (age1…) or a file of them; repeatable (env ${ENV.encrypt})`, collectValues, [])
    .option('--identity <file>', `age identity file to read encrypted objects with; repeatable (env ${ENV.identity})`, collectValues, [])
    .option('--adopt-manifest', 'make this store the home of a manifest written for another location (after copying or moving a store)')
    .option('--config <file>', `JSON file with defaults for any option (env ${ENV.config})`)
    .option('--json', 'one JSON object per event on stderr, and the result as JSON on stdout')
    .option('--quiet', 'only warnings and errors on stderr');
}

export interface Context {
  readonly flags: GlobalFlags;
  readonly file: ConfigFile;
  readonly log: Log;
  readonly output: Output;
}

export function contextOf(command: Command): Context {
  const flags = command.optsWithGlobals<GlobalFlags>();
  const file = loadConfigFile(flags.config);
  const json = flags.json === true || file.json === true;
  return { flags, file, log: createLog({ json, quiet: flags.quiet }), output: createOutput(json) };
}

export async function storeOf(context: Context, extra: OpenStoreOptions = {}): Promise<Store> {
  const { flags, file } = context;
  const { retry: extraRetry, ...rest } = extra;
  // Keys first: a bad key file is refused before the store is opened.
  const cipher = await cipherOfContext(context);
  const endpoint = pick(flags.endpoint, ENV.endpoint, file, 'endpoint');
  const store = await openStore(pick(flags.store, ENV.store, file, 'store') ?? DEFAULT_STORE, {
    endpoint,
    region: pick(flags.region, ENV.region, file, 'region'),
    forcePathStyle: flags.pathStyle ?? (file.pathStyle === true || endpoint !== undefined),
    sse: pick(flags.sse, undefined, file, 'sse') as 'AES256' | 'aws:kms' | undefined,
    kmsKeyId: pick(flags.sseKmsKeyId, undefined, file, 'sseKmsKeyId'),
    onWarning: (message) => context.log.warn(message),
    ...rest,
    retry: withExtraRetryHook(storeRetryOf(context), extraRetry),
  });
  await store.check();
  if (flags.adoptManifest) {
    const from = await adoptManifest(store);
    if (from !== null) context.log.event('store.adopted', `manifest.json, written for ${from}, now belongs to ${store.url}`, { from });
  }
  return cipher ? attachCipher(store, cipher) : store;
}

/** The keys --encrypt / --identity (or their environment and config) name, if any. */
export function cipherOfContext(context: Context): Promise<AgeCipher | undefined> {
  const { flags, file } = context;
  return loadCipher({
    encrypt: pickList(flags.encrypt, ENV.encrypt, file, 'encrypt'),
    identity: pickList(flags.identity, ENV.identity, file, 'identity'),
    onWarning: (message) => context.log.warn(message),
  });
}

function collectValues(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The store's retry budget (env or config file `storeRetry`), and a log event per retry. */
/** The retry options with a caller's onRetry (the metrics') told of each retry too. */
function withExtraRetryHook(retry: RetryingStoreOptions, extra: RetryingStoreOptions | undefined): RetryingStoreOptions {
  const hook = extra?.onRetry;
  if (!hook) return retry;
  return {
    ...retry,
    onRetry: (event) => {
      retry.onRetry?.(event);
      hook(event);
    },
  };
}

function storeRetryOf(context: Context): RetryingStoreOptions {
  const budget = pick(undefined, ENV.storeRetry, context.file, 'storeRetry');
  return {
    budgetMs: budget === undefined ? undefined : parseDuration(budget, ENV.storeRetry),
    onRetry: (event) =>
      context.log.event('store.retry', `${event.operation} ${event.key}: retry ${event.attempt} in ${event.delayMs} ms after ${firstLine(event.error)}`, {
        operation: event.operation,
        key: event.key,
        attempt: event.attempt,
      }),
  };
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}

/** The source URI from --uri, MONGODB_URI or the config file. */
export function sourceUriOf(context: Context, uri: string | undefined): string {
  const value = pick(uri, ENV.uri, context.file, 'uri');
  if (!value) throw new UsageError(`no source: give --uri or set ${ENV.uri}`);
  return value;
}

export async function sourceOf(context: Context, uri: string | undefined): Promise<Source> {
  return connectSource(sourceUriOf(context, uri));
}

/** Runs `work` with a store and closes it whatever happens. */
export async function withStore<T>(context: Context, work: (store: Store) => Promise<T>, extra: OpenStoreOptions = {}): Promise<T> {
  const store = await storeOf(context, extra);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

/** Runs `work` with a store and a source and closes both. */
export async function withSourceAndStore<T>(
  context: Context,
  uri: string | undefined,
  work: (source: Source, store: Store) => Promise<T>,
  /** Extra store options (the metrics' request hooks). */
  extra: OpenStoreOptions = {},
): Promise<T> {
  const sourceUri = sourceUriOf(context, uri);
  return withStore(context, async (store) => {
    const source = await connectSource(sourceUri);
    try {
      return await work(source, store);
    } finally {
      await source.client.close();
    }
  }, extra);
}

/** A signal that fires on SIGINT/SIGTERM, so a run stops between commits; its reason is Interrupted. */
export function stopSignal(): AbortSignal {
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort(new Interrupted('SIGINT')));
  process.once('SIGTERM', () => controller.abort(new Interrupted('SIGTERM')));
  return controller.signal;
}
