// A collection's metadata file, in mongodump's `<coll>.metadata.json` shape (canonical extended
// JSON with options, indexes, uuid, collectionName, type) so mongorestore and our own loader
// read the same file. Source of truth: mongo-tools mongodump/metadata_dump.go.
import { BSON, type Document } from 'mongodb';

const { EJSON } = BSON;

export interface CollectionMetadata {
  readonly collectionName: string;
  readonly type: 'collection' | 'view' | 'timeseries';
  readonly options: Document;
  readonly indexes: readonly Document[];
  readonly uuid: string | null;
}

export function serializeMetadata(metadata: CollectionMetadata): Buffer {
  const document: Document = {
    options: metadata.options,
    indexes: metadata.indexes,
    collectionName: metadata.collectionName,
    type: metadata.type,
  };
  if (metadata.uuid) document.uuid = metadata.uuid;
  return Buffer.from(EJSON.stringify(document, { relaxed: false }));
}

export function parseMetadata(bytes: Buffer | string, fallbackName: string): CollectionMetadata {
  const document = EJSON.parse(bytes.toString(), { relaxed: false }) as Document;
  const type = document.type === 'view' || document.type === 'timeseries' ? document.type : 'collection';
  return {
    collectionName: typeof document.collectionName === 'string' ? document.collectionName : fallbackName,
    type: document.options?.viewOn ? 'view' : document.options?.timeseries ? 'timeseries' : type,
    options: (document.options as Document | undefined) ?? {},
    indexes: (document.indexes as Document[] | undefined) ?? [],
    uuid: typeof document.uuid === 'string' ? document.uuid : null,
  };
}
