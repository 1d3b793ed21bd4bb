// Options come from flags, then the environment, then an optional JSON config file, then the
// defaults below — in that order of precedence, resolved once here.
import { readFileSync } from 'node:fs';
import { UsageError } from './errors.ts';

export const DEFAULT_STORE = './mongo-pitr-backups';

/** Environment variables, by option name. AWS_* are read by the AWS SDK itself. */
export const ENV = {
  uri: 'MONGODB_URI',
  store: 'MONGO_PITR_STORE',
  endpoint: 'MONGO_PITR_S3_ENDPOINT',
  region: 'AWS_REGION',
  config: 'MONGO_PITR_CONFIG',
  /** Recipients (age1…) or recipients files, separated by commas. */
  encrypt: 'MONGO_PITR_ENCRYPT',
  /** Identity files, separated by commas. */
  identity: 'MONGO_PITR_IDENTITY',
  /** KMS endpoint for KMS-compatible services (AWS_ENDPOINT_URL_KMS works too: the AWS SDK reads it). */
  kmsEndpoint: 'MONGO_PITR_KMS_ENDPOINT',
  /** How long one store operation may keep retrying transient faults, e.g. "2m". */
  storeRetry: 'MONGO_PITR_STORE_RETRY',
} as const;

export type ConfigFile = Record<string, unknown>;

export function loadConfigFile(path: string | undefined): ConfigFile {
  const file = path ?? process.env[ENV.config];
  if (!file) return {};
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read config file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return checkConfigTypes(value as ConfigFile, file);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`config file ${file} is not a JSON object: ${(error as Error).message}`);
  }
}

/**
 * The type of every key the config file may set. A value of another type is refused with one
 * line naming the key, instead of being coerced (`"store": 42` would otherwise become ./42).
 * Keys not listed here are left alone.
 */
export const CONFIG_KEY_TYPES: Readonly<Record<string, 'string' | 'boolean'>> = {
  uri: 'string',
  store: 'string',
  endpoint: 'string',
  region: 'string',
  sse: 'string',
  sseKmsKeyId: 'string',
  storeRetry: 'string',
  pathStyle: 'boolean',
  json: 'boolean',
};

function checkConfigTypes(config: ConfigFile, file: string): ConfigFile {
  for (const [key, type] of Object.entries(CONFIG_KEY_TYPES)) {
    const value = config[key];
    if (value === undefined || typeof value === type) continue;
    const found = value === null ? 'null' : Array.isArray(value) ? 'an array' : `${typeof value} ${JSON.stringify(value)}`;
    throw new UsageError(`config file ${file}: "${key}" must be a ${type}, not ${found}`, {
      hint: type === 'string' ? `quote it: "${key}": "${String(value)}"` : `use true or false`,
    });
  }
  return config;
}

/** flag > environment > config file > default. */
export function pick(flag: unknown, envName: string | undefined, file: ConfigFile, key: string): string | undefined {
  if (typeof flag === 'string' && flag !== '') return flag;
  const fromEnv = envName ? process.env[envName] : undefined;
  if (fromEnv) return fromEnv;
  const fromFile = file[key];
  return typeof fromFile === 'string' ? fromFile : undefined;
}

/** A repeatable option: the flag's values, else the environment's (comma-separated), else the file's. */
export function pickList(flag: readonly string[] | undefined, envName: string, file: ConfigFile, key: string): string[] {
  if (flag && flag.length > 0) return [...flag];
  const fromEnv = process.env[envName];
  if (fromEnv) return fromEnv.split(',').map((value) => value.trim()).filter((value) => value !== '');
  const fromFile = file[key];
  if (typeof fromFile === 'string') return [fromFile];
  return Array.isArray(fromFile) ? fromFile.filter((value): value is string => typeof value === 'string') : [];
}

const UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "90s", "15m", "6h", "7d", "2w" → milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(text.trim());
  if (!match) throw new UsageError(`${flag} ${text}: expected a duration such as 90s, 15m, 6h, 7d`);
  return Number(match[1]) * (UNITS_MS[match[2] ?? 's'] ?? 1000);
}

const MiB = 1024 * 1024;

/**
 * Chunk rotation limits from user text: a size in MiB and a duration (at least one second).
 * Shared by the CLI's --chunk-size/--chunk-span and the Lambda's environment; `names` say which.
 */
export function parseChunkLimits(
  sizeMiB: string,
  span: string,
  names: { size: string; span: string } = { size: '--chunk-size', span: '--chunk-span' },
): { chunkBytes: number; chunkSpanSeconds: number } {
  return {
    chunkBytes: parsePositiveInt(sizeMiB, names.size) * MiB,
    chunkSpanSeconds: Math.max(1, Math.round(parseDuration(span, names.span) / 1000)),
  };
}

export function parsePositiveInt(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new UsageError(`${flag} ${text}: expected a positive whole number`);
  return value;
}
