// A scripted replica-set member behind the driver calls the backup pipeline makes (hello,
// listDatabases, listCollections, listIndexes, find/findOne on a collection and on
// local.oplog.rs), for what FerretDB cannot produce: a lagging majority point, terms, a rollback,
// commands in the oplog. Fault injection only: entries are built in the shapes the server writes
// and every test that uses this cites its source.
import { setTimeout as sleep } from 'node:timers/promises';
import { BSON, Long, MongoClient, ReadPreference, Timestamp, UUID, type Document } from 'mongodb';
import type { Source } from '../../src/source/connect-source.ts';
import type { Ts } from '../../src/timestamp.ts';

export interface MemberState {
  /** The member's oplog in ts order, as it is now. */
  oplog: Document[];
  /** Collections by namespace: what a local-read-concern find sees now. */
  collections: Map<string, Document[]>;
  /** hello, called afresh each time (a test can move the majority point). */
  hello: (call: number) => Document;
}

/** An oplog entry in the shape mongod writes (ts, t int64, v 2, wall). */
export function oplogEntry(ts: Ts, term: number, fields: Document): Document {
  return { ts: new Timestamp({ t: ts.t, i: ts.i }), t: Long.fromNumber(term), v: Long.fromNumber(2), wall: new Date(ts.t * 1000), ...fields };
}

/** hello as a replica-set member answers it (repl/hello.idl: lastWrite {opTime, majorityOpTime}). */
export function memberHello(lastWrite: { ts: Ts; t: number }, majority: { ts: Ts; t: number }): Document {
  const optime = (o: { ts: Ts; t: number }): Document => ({ ts: new Timestamp({ t: o.ts.t, i: o.ts.i }), t: Long.fromNumber(o.t) });
  return {
    isWritablePrimary: true,
    setName: 'rs0',
    hosts: ['member.example:27017'],
    lastWrite: { opTime: optime(lastWrite), lastWriteDate: new Date(lastWrite.ts.t * 1000), majorityOpTime: optime(majority), majorityWriteDate: new Date(majority.ts.t * 1000) },
    ok: 1,
  };
}

/**
 * A member whose newest oplog entry is always its last write, majority-committed (a primary with
 * nothing in flight), holding `collections` (default: shop.orders with one document).
 */
export function settledMember(oplog: Document[], collections = new Map([['shop.orders', [{ _id: 1 }]]])): MemberState {
  const state: MemberState = {
    oplog,
    collections,
    hello: () => {
      const last = state.oplog.at(-1)?.ts as Timestamp;
      const ts = { t: last.high, i: last.low };
      return memberHello({ ts, t: 1 }, { ts, t: 1 });
    },
  };
  return state;
}

function tsOf(document: Document): number {
  const ts = document.ts as Timestamp;
  return ts.high * 2 ** 32 + ts.low;
}

function matches(document: Document, filter: Document): boolean {
  const cond = filter.ts as Document | Timestamp | undefined;
  if (!cond) return true;
  const at = tsOf(document);
  if (cond instanceof Timestamp) return at === tsOf({ ts: cond });
  if (cond.$gte && at < tsOf({ ts: cond.$gte })) return false;
  if (cond.$lte && at > tsOf({ ts: cond.$lte })) return false;
  return true;
}

/** A cursor over a live array: each step reads the array as it is then, past the last position. */
function cursor(read: () => Document[], raw: boolean): Document {
  let position = 0;
  let closed = false;
  const next = (): Document | null => {
    const documents = read();
    const document = documents[position];
    if (!document) return null;
    position++;
    return raw ? BSON.serialize(document) : document;
  };
  return {
    get closed() {
      return closed;
    },
    // An empty getMore on a tailable awaitData cursor waits before answering (maxAwaitTimeMS).
    tryNext: async () => {
      const document = closed ? null : next();
      if (!document) await sleep(5);
      return document;
    },
    close: async () => {
      closed = true;
    },
    sort() {
      return this;
    },
    limit() {
      return this;
    },
    toArray: async () => read(),
    async *[Symbol.asyncIterator]() {
      for (let document = next(); document && !closed; document = next()) yield document;
    },
  };
}

export function fakeSource(state: MemberState): Source {
  let helloCalls = 0;
  const collection = (db: string, name: string): Document => {
    const documents = (): Document[] => (db === 'local' && name === 'oplog.rs' ? state.oplog : (state.collections.get(`${db}.${name}`) ?? []));
    return {
      find: (filter: Document = {}, options: Document = {}) => cursor(() => documents().filter((d) => matches(d, filter)), options.raw === true),
      findOne: async (filter: Document = {}) => documents().find((d) => matches(d, filter)) ?? null,
      listIndexes: () => ({ toArray: async () => [{ v: 2, key: { _id: 1 }, name: '_id_' }] }),
    };
  };
  const database = (db: string): Document => ({
    collection: (name: string) => collection(db, name),
    command: async (command: Document) => {
      if (command.hello) return state.hello(++helloCalls);
      if (command.listDatabases) {
        const names = new Set([...state.collections.keys()].map((ns) => ns.slice(0, ns.indexOf('.'))));
        return { databases: [...names].map((name) => ({ name })), ok: 1 };
      }
      throw new Error(`fake member: no ${Object.keys(command)[0]}`);
    },
    listCollections: () => ({
      toArray: async () =>
        [...state.collections.keys()]
          .filter((ns) => ns.startsWith(`${db}.`))
          .map((ns) => ({ name: ns.slice(db.length + 1), type: 'collection', options: {}, info: { uuid: new UUID() } })),
    }),
  });
  const client = { db: database, close: async () => undefined } as unknown as MongoClient;
  return { client, identity: { setName: 'rs0', replicaSetId: null }, uri: 'mongodb://member.example:27017/', member: 'member.example:27017', readPreference: ReadPreference.primary };
}
