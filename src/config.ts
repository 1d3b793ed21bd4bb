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
    return value as ConfigFile;
  } catch (error) {
    throw new UsageError(`config file ${file} is not a JSON object: ${(error as Error).message}`);
  }
}

/** flag > environment > config file > default. */
export function pick(flag: unknown, envName: string | undefined, file: ConfigFile, key: string): string | undefined {
  if (typeof flag === 'string' && flag !== '') return flag;
  const fromEnv = envName ? process.env[envName] : undefined;
  if (fromEnv) return fromEnv;
  const fromFile = file[key];
  return typeof fromFile === 'string' || typeof fromFile === 'number' ? String(fromFile) : undefined;
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
