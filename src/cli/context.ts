// Turns parsed flags into the things commands work with: the store, the source, the log.
// Precedence: flags > environment > config file > defaults (config.ts).
import { Option, type Command } from 'commander';
import { DEFAULT_STORE, ENV, loadConfigFile, pick, type ConfigFile } from '../config.ts';
import { UsageError } from '../errors.ts';
import { createLog, type Log } from '../log.ts';
import { openStore } from '../store/open-store.ts';
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
  config?: string;
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

export async function storeOf(context: Context): Promise<Store> {
  const { flags, file } = context;
  const endpoint = pick(flags.endpoint, ENV.endpoint, file, 'endpoint');
  const store = await openStore(pick(flags.store, ENV.store, file, 'store') ?? DEFAULT_STORE, {
    endpoint,
    region: pick(flags.region, ENV.region, file, 'region'),
    forcePathStyle: flags.pathStyle ?? (file.pathStyle === true || endpoint !== undefined),
    sse: pick(flags.sse, undefined, file, 'sse') as 'AES256' | 'aws:kms' | undefined,
    kmsKeyId: pick(flags.sseKmsKeyId, undefined, file, 'sseKmsKeyId'),
  });
  await store.check();
  return store;
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
export async function withStore<T>(context: Context, work: (store: Store) => Promise<T>): Promise<T> {
  const store = await storeOf(context);
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
): Promise<T> {
  const sourceUri = sourceUriOf(context, uri);
  return withStore(context, async (store) => {
    const source = await connectSource(sourceUri);
    try {
      return await work(source, store);
    } finally {
      await source.client.close();
    }
  });
}

/** A signal that fires on SIGINT/SIGTERM, so a run stops between commits (stop-signal.ts). */
export { stopSignal } from './stop-signal.ts';
