// Turns parsed flags into the things commands work with: the store, the source, the log.
// Precedence: flags > environment > config file > defaults (config.ts).
import { Option, type Command } from 'commander';
import { existsSync } from 'node:fs';
import { DEFAULT_STORE, ENV, loadConfigFile, parseDuration, pick, pickList, type ConfigFile } from '../config.ts';
import { loadCipher } from '../crypt/key-files.ts';
import { attachCipher, type Ciphers } from '../crypt/store-cipher.ts';
import { StoreError, StoreErrorKind, UsageError } from '../errors.ts';
import { createLog, type Log } from '../log.ts';
import { adoptManifest } from '../backup/commit.ts';
import { openStore, parseStoreUrl, type OpenStoreOptions } from '../store/open-store.ts';
import type { RetryingStoreOptions } from '../store/retrying-store.ts';
import { checkEndpoint, checkStoreArgument } from './store-option.ts';
import type { Store } from '../store/store.ts';
import { connectSource, type Source } from '../source/connect-source.ts';
import { createOutput, type Output } from './output.ts';
import { redactUri } from '../redact.ts';

export interface GlobalFlags {
  store?: string;
  endpoint?: string;
  region?: string;
  pathStyle?: boolean;
  sse?: string;
  sseKmsKeyId?: string;
  encrypt?: string[];
  identity?: string[];
  kmsEndpoint?: string;
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
    .option('--encrypt <recipient>', `encrypt new objects client-side to an age public key (age1…) or a file of them, repeatable; or under a KMS key: kms:<key id | ARN | alias/name> (env ${ENV.encrypt})`, collectValues, [])
    .option('--identity <file>', `age identity file to read encrypted objects with; repeatable (env ${ENV.identity})`, collectValues, [])
    .option('--kms-endpoint <url>', `KMS endpoint for KMS-compatible services and tests (env ${ENV.kmsEndpoint}; AWS_ENDPOINT_URL_KMS is read by the AWS SDK itself)`)
    .option('--adopt-manifest', 'make this store the home of a manifest written for another location (after copying or moving a store)')
    .option('--config <file>', `JSON file with defaults for any option (env ${ENV.config})`)
    .option('--json', 'one JSON object per event on stderr, and the result as JSON on stdout')
    .option('--quiet', 'only warnings and errors on stderr');
}

export interface Context {
  /** The subcommand's name: `backup`, `status` ... */
  readonly command: string;
  readonly flags: GlobalFlags;
  readonly file: ConfigFile;
  readonly log: Log;
  readonly output: Output;
}

export function contextOf(command: Command): Context {
  const flags = command.optsWithGlobals<GlobalFlags>();
  const file = loadConfigFile(flags.config);
  const json = flags.json === true || file.json === true;
  return { command: command.name(), flags, file, log: createLog({ json, quiet: flags.quiet }), output: createOutput(json) };
}

/**
 * Commands that only read the store (prune deletes, but never starts one): a folder store that
 * does not exist is an error for them, never created, since a typo would otherwise leave an
 * empty store behind and report "no backups".
 */
const READ_ONLY_COMMANDS: ReadonlySet<string> = new Set(['status', 'list', 'verify', 'find', 'restore', 'export', 'prune']);

export async function storeOf(context: Context, extra: OpenStoreOptions = {}): Promise<Store> {
  const { flags, file } = context;
  const { retry: extraRetry, ...rest } = extra;
  // Keys first: a bad key file is refused before the store is opened.
  const cipher = await cipherOfContext(context);
  const endpoint = pick(flags.endpoint, ENV.endpoint, file, 'endpoint');
  if (endpoint !== undefined) checkEndpoint(endpoint, flags.endpoint ? '--endpoint' : `${ENV.endpoint} (or the config file's endpoint)`);
  const url = pick(flags.store, ENV.store, file, 'store') ?? DEFAULT_STORE;
  if (url !== DEFAULT_STORE) checkStoreArgument(url, flags.store ? '--store' : `${ENV.store} (or the config file's store)`);
  if (READ_ONLY_COMMANDS.has(context.command)) requireExistingFolder(url);
  context.log.status('store.open', `opening store ${url}`);
  const store = await openStore(url, {
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
export function cipherOfContext(context: Context): Promise<Ciphers | undefined> {
  const { flags, file } = context;
  const kmsEndpoint = pick(flags.kmsEndpoint, ENV.kmsEndpoint, file, 'kmsEndpoint');
  if (kmsEndpoint !== undefined) checkEndpoint(kmsEndpoint, flags.kmsEndpoint ? '--kms-endpoint' : `${ENV.kmsEndpoint} (or the config file's kmsEndpoint)`);
  return loadCipher({
    encrypt: pickList(flags.encrypt, ENV.encrypt, file, 'encrypt'),
    identity: pickList(flags.identity, ENV.identity, file, 'identity'),
    kmsEndpoint,
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
  const sourceUri = sourceUriOf(context, uri);
  context.log.status('source.connect', `connecting to ${redactUri(sourceUri)}`);
  return connectSource(sourceUri);
}

/** A folder store that a read-only command would otherwise create (check() makes the folder). */
function requireExistingFolder(url: string): void {
  const location = parseStoreUrl(url);
  if (location.kind !== 'folder' || existsSync(location.path)) return;
  throw new StoreError(StoreErrorKind.notFound, `no store at ${location.path}: the folder does not exist`, {
    hint: 'check --store (or MONGO_PITR_STORE); backup, run, oplog, stream and import create a new store',
  });
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
    context.log.status('source.connect', `connecting to ${redactUri(sourceUri)}`);
    const source = await connectSource(sourceUri);
    try {
      return await work(source, store);
    } finally {
      await source.client.close();
    }
  }, extra);
}

/** A signal that fires on SIGINT/SIGTERM, so a run stops between commits (stop-signal.ts). */
export { stopSignal } from './stop-signal.ts';
