// The files of a mongodump output folder, as mongodump names them (mongo-tools
// mongodump/mongodump.go, common/util/file.go): `<db>/<coll>.bson` and `<db>/<coll>.metadata.json`
// per collection, `oplog.bson` at the top; with --gzip each file gzip'ed on its own and named
// with a .gz suffix. Import reads both forms; export writes the plain one.
import { readFile, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { UsageError } from '../errors.ts';
import { hasGzipHeader } from '../archive/bson-frames.ts';

const GZIP_SUFFIX = '.gz';
const DATA_SUFFIX = '.bson';
const METADATA_SUFFIX = '.metadata.json';
/** The consistency oplog mongodump --oplog writes at the top of the folder. */
export const DUMP_OPLOG_FILE = 'oplog.bson';
/** The oplog's names import accepts: plain and --gzip. */
export const DUMP_OPLOG_FILES = [DUMP_OPLOG_FILE, `${DUMP_OPLOG_FILE}${GZIP_SUFFIX}`] as const;
const METADATA_SUFFIXES = [`${METADATA_SUFFIX}${GZIP_SUFFIX}`, METADATA_SUFFIX];
const DATA_SUFFIXES = [`${DATA_SUFFIX}${GZIP_SUFFIX}`, DATA_SUFFIX];

/** A collection's documents file in its database folder: `<escaped coll>.bson`. */
export function dumpDataFile(coll: string): string {
  return `${escapeDumpName(coll)}${DATA_SUFFIX}`;
}

/** A collection's metadata file in its database folder: `<escaped coll>.metadata.json`. */
export function dumpMetadataFile(coll: string): string {
  return `${escapeDumpName(coll)}${METADATA_SUFFIX}`;
}

/**
 * A collection name as mongodump writes it in a file name: Go's url.PathEscape
 * (mongo-tools common/util EscapeCollectionName), which keeps ASCII letters, digits and
 * `-_.~$&+=:@` and writes every other UTF-8 byte as %XX.
 */
export function escapeDumpName(name: string): string {
  let out = '';
  for (const byte of Buffer.from(name, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~$&+=:@]/.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The inverse (url.PathUnescape); a file name that is not valid escaping is taken as it is. */
export function unescapeDumpName(segment: string): string {
  if (!/%[0-9A-Fa-f]{2}/.test(segment)) return segment;
  const parts = segment.split(/(%[0-9A-Fa-f]{2})/).map((part) =>
    /^%[0-9A-Fa-f]{2}$/.test(part) ? Buffer.from([parseInt(part.slice(1), 16)]) : Buffer.from(part, 'utf8'),
  );
  const decoded = Buffer.concat(parts);
  const text = decoded.toString('utf8');
  return Buffer.from(text, 'utf8').equals(decoded) ? text : segment;
}

/** A collection's files in a database folder; either may be missing. */
export interface CollectionFiles {
  data?: string;
  metadata?: string;
}

/**
 * A database folder's files, paired by collection: `<stem>.bson[.gz]` and
 * `<stem>.metadata.json[.gz]`, keyed by the (still escaped) stem, in name order.
 */
export async function collectionFiles(dir: string): Promise<Map<string, CollectionFiles>> {
  const files = new Map<string, CollectionFiles>();
  const names = (await readdir(dir, { withFileTypes: true })).filter((entry) => entry.isFile()).map((entry) => entry.name).sort(); // code-unit order
  for (const name of names) {
    const metadataSuffix = METADATA_SUFFIXES.find((suffix) => name.endsWith(suffix));
    const dataSuffix = metadataSuffix ? undefined : DATA_SUFFIXES.find((suffix) => name.endsWith(suffix));
    const suffix = metadataSuffix ?? dataSuffix;
    if (!suffix) continue;
    const stem = name.slice(0, -suffix.length);
    const found = files.get(stem) ?? {};
    const kind = metadataSuffix ? 'metadata' : 'data';
    if (found[kind]) throw new UsageError(`${join(dir, name)}: the folder holds ${basename(found[kind])} for the same collection too`);
    found[kind] = join(dir, name);
    files.set(stem, found);
  }
  return files;
}

/** A small file (metadata.json), gunzipped when it starts with the gzip magic bytes. */
export async function readMaybeGzip(file: string): Promise<Buffer> {
  const bytes = await readFile(file);
  return hasGzipHeader(bytes) ? gunzipSync(bytes) : bytes;
}
