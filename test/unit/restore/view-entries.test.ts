// Views in the oplog: writes to <db>.system.views become view commands on the target.
// The entry shapes are the server's (mongodb/mongo):
//   src/mongo/db/catalog/views_for_database.cpp   _upsertIntoCatalog: the document is
//     {_id: "<db>.<view>", viewOn, pipeline, collation?}; inserted by createView, replaced whole
//     by collMod (update = the new document, criteria = {_id}); ::remove deletes it by _id;
//   src/mongo/db/op_observer/op_observer_impl.cpp   replLogUpdate: o = the update (here the whole
//     document), o2 = the criteria; replLogDelete: o = {_id};
//   src/mongo/db/catalog/coll_mod.cpp   "Only observe non-view collMods, as view operations are
//     observed as operations on the system.views collection": no `c` entry for views.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BSON, Long, MongoServerError, Timestamp, UUID } from 'mongodb';
import type { Document } from 'mongodb';
import type { OplogEntry } from '../../../src/oplog-entry.ts';
import { compileNamespaceMapper, SKIP_INTERNAL } from '../../../src/restore/namespace-mapper.ts';
import type { NamespaceOptions } from '../../../src/restore/namespace-mapper.ts';
import { SKIP_EXCLUDED, SKIP_VIEW_ACROSS_DATABASES } from '../../../src/restore/namespace-rules.ts';
import { replay } from '../../../src/restore/replay.ts';
import { SKIP_MALFORMED_VIEW, SKIP_TIMESERIES_VIEW, SKIP_VIEW_UPDATE_NOT_REPLACEMENT } from '../../../src/restore/view-entries.ts';
import { emptyApplyStats, type Applier, type CommandPlan } from '../../../src/target/applier.ts';
import { isSkippedCommand, planCommand } from '../../../src/target/command-ops.ts';

const VIEWS_UI = new UUID();
let ordinal = 0;

function entry(op: 'i' | 'u' | 'd', o: Document, extra: Partial<OplogEntry> = {}): OplogEntry {
  return {
    op,
    ns: 'shop.system.views',
    ui: VIEWS_UI,
    o,
    ts: new Timestamp({ t: 1_700_000_000, i: ++ordinal }),
    t: Long.fromNumber(3),
    v: 2,
    wall: new Date(1_700_000_000_000 + ordinal),
    ...extra,
  };
}

const BIG = [{ $match: { total: { $gt: 100 } } }];
const BIGGER = [{ $match: { total: { $gt: 1000 } } }, { $project: { total: 1 } }];
/** A view created with a collation: the server stores the collator's full spec. */
const FRENCH = {
  locale: 'fr', caseLevel: false, caseFirst: 'off', strength: 3, numericOrdering: false,
  alternate: 'non-ignorable', maxVariable: 'punct', normalization: false, backwards: false, version: '57.1',
};

/** createView shop.big_orders on orders. */
const createView = (pipeline: Document[] = BIG, extra: Document = {}) =>
  entry('i', { _id: 'shop.big_orders', viewOn: 'orders', pipeline, ...extra });
/** collMod shop.big_orders: the whole new definition replaces the old one. */
const modifyView = (pipeline: Document[], viewOn = 'orders') =>
  entry('u', { _id: 'shop.big_orders', viewOn, pipeline }, { o2: { _id: 'shop.big_orders' } });
/** drop shop.big_orders. */
const dropView = () => entry('d', { _id: 'shop.big_orders' });

/** The commands replay runs for one entry under `rules`, as planCommand plans them. */
function commandsFor(source: OplogEntry, rules: NamespaceOptions = {}): Array<Omit<CommandPlan, 'entry'>> | string {
  const mapping = compileNamespaceMapper(rules).mapEntry(source);
  if ('skip' in mapping) return mapping.skip;
  return mapping.apply.map((mapped) => {
    assert.equal(mapped.op, 'c');
    assert.equal(mapped.ui, undefined, 'the catalog collection\'s ui names nothing on the target');
    assert.equal(mapped.ts, source.ts, 'the command keeps the entry\'s place in the oplog');
    const plan = planCommand(mapped);
    if (isSkippedCommand(plan)) assert.fail(`skipped: ${plan.skip}`);
    const { entry: _entry, ...rest } = plan;
    return rest;
  });
}

describe('system.views entries become view commands', () => {
  it('an insert (createView) is a create, then a collMod to the same definition', () => {
    assert.deepEqual(commandsFor(createView()), [
      { db: 'shop', command: { create: 'big_orders', viewOn: 'orders', pipeline: BIG }, ignoreCodes: [48] },
      { db: 'shop', command: { collMod: 'big_orders', viewOn: 'orders', pipeline: BIG }, ignoreCodes: [27, 26] },
    ]);
  });

  it('keeps a collation in the create (collMod cannot change it)', () => {
    const [create, collMod] = commandsFor(createView(BIG, { collation: FRENCH })) as Array<Omit<CommandPlan, 'entry'>>;
    assert.deepEqual(create?.command, { create: 'big_orders', viewOn: 'orders', pipeline: BIG, collation: FRENCH });
    assert.deepEqual(collMod?.command, { collMod: 'big_orders', viewOn: 'orders', pipeline: BIG });
  });

  it('an update (collMod of the view) replaces the definition, named by o2', () => {
    assert.deepEqual(commandsFor(modifyView(BIGGER, 'archive')), [
      { db: 'shop', command: { create: 'big_orders', viewOn: 'archive', pipeline: BIGGER }, ignoreCodes: [48] },
      { db: 'shop', command: { collMod: 'big_orders', viewOn: 'archive', pipeline: BIGGER }, ignoreCodes: [27, 26] },
    ]);
  });

  it('a delete (drop of the view) is a drop', () => {
    assert.deepEqual(commandsFor(dropView()), [{ db: 'shop', command: { drop: 'big_orders' }, ignoreCodes: [26] }]);
  });

  it('renames the view and its source under --nsFrom/--nsTo, in the create and the collMod', () => {
    const whole = { from: ['shop.*'], to: ['store.*'] };
    assert.deepEqual(
      (commandsFor(modifyView(BIG), whole) as Array<Omit<CommandPlan, 'entry'>>).map((plan) => [plan.db, plan.command]),
      [
        ['store', { create: 'big_orders', viewOn: 'orders', pipeline: BIG }],
        ['store', { collMod: 'big_orders', viewOn: 'orders', pipeline: BIG }],
      ],
    );
    const source = { from: ['shop.orders'], to: ['shop.orders_2024'] };
    assert.deepEqual(
      (commandsFor(modifyView(BIG), source) as Array<Omit<CommandPlan, 'entry'>>).map((plan) => plan.command.viewOn),
      ['orders_2024', 'orders_2024'],
    );
    assert.deepEqual(commandsFor(dropView(), whole), [{ db: 'store', command: { drop: 'big_orders' }, ignoreCodes: [26] }]);
  });

  it('skips a view renamed away from its source\'s database, as the base does', () => {
    const away = { from: ['shop.big_orders'], to: ['reports.big_orders'] };
    assert.equal(commandsFor(createView(), away), SKIP_VIEW_ACROSS_DATABASES);
    assert.equal(commandsFor(modifyView(BIGGER), away), SKIP_VIEW_ACROSS_DATABASES);
  });

  it('follows --nsInclude/--nsExclude by the view\'s name, not system.views', () => {
    assert.equal(commandsFor(createView(), { exclude: ['shop.big_orders'] }), SKIP_EXCLUDED);
    assert.equal(commandsFor(dropView(), { include: ['hr.*'] }), SKIP_EXCLUDED);
    assert.equal((commandsFor(createView(), { include: ['shop.big_*'] }) as unknown[]).length, 2);
  });

  it('leaves a time-series view to its buckets collection', () => {
    const weather = entry('i', {
      _id: 'shop.weather',
      viewOn: 'system.buckets.weather',
      pipeline: [{ $_internalUnpackBucket: { timeField: 't', metaField: 'm', bucketMaxSpanSeconds: 3600 } }],
    });
    assert.equal(commandsFor(weather), SKIP_TIMESERIES_VIEW);
  });

  it('skips what the server never writes there, with a reason', () => {
    assert.equal(commandsFor(entry('i', { _id: 'other.v', viewOn: 'orders', pipeline: [] })), SKIP_MALFORMED_VIEW);
    assert.equal(commandsFor(entry('i', { _id: 'shop.v', pipeline: [] })), SKIP_MALFORMED_VIEW);
    assert.equal(
      commandsFor(entry('u', { $v: 2, diff: { u: { pipeline: [] } } }, { o2: { _id: 'shop.big_orders' } })),
      SKIP_VIEW_UPDATE_NOT_REPLACEMENT,
    );
  });

  it('still skips the catalog collection\'s own commands and other internal databases', () => {
    const create = entry('i', {}, { op: 'c', ns: 'shop.$cmd', o: { create: 'system.views' } });
    assert.equal(commandsFor(create), SKIP_INTERNAL);
    assert.equal(commandsFor({ ...createView(), ns: 'config.system.views' }), SKIP_INTERNAL);
  });
});

// ---- replayed twice, over a base that already has the view ----------------------------------

/** Server error codes (src/mongo/base/error_codes.yml) and what raises them below. */
const NAMESPACE_NOT_FOUND = 26;
const NAMESPACE_EXISTS = 48;
const INVALID_OPTIONS = 72;

interface CatalogItem {
  readonly type: 'collection' | 'view';
  viewOn?: string;
  pipeline?: unknown;
  collation?: unknown;
}

/**
 * A target reduced to its catalog, answering create/collMod/drop with the codes mongod gives
 * (create of an existing name: NamespaceExists; collMod or drop of a missing one:
 * NamespaceNotFound; viewOn/pipeline on a collection: InvalidOptions), and ignoring the codes a
 * plan lists, as both appliers do.
 */
class CatalogApplier implements Applier {
  readonly mode = 'portable' as const;
  readonly stats = emptyApplyStats();
  readonly catalog = new Map<string, CatalogItem>();

  async applyCrud(): Promise<void> {}
  async applyTransaction(): Promise<void> {}

  async applyCommand(plan: CommandPlan): Promise<void> {
    try {
      this.#run(plan.db, plan.command);
    } catch (error) {
      if (!(error instanceof MongoServerError && plan.ignoreCodes.includes(Number(error.code)))) throw error;
    }
    this.stats.commands++;
  }

  #run(db: string, command: Document): void {
    const [verb] = Object.keys(command);
    const ns = `${db}.${String(command[verb ?? ''])}`;
    const item = this.catalog.get(ns);
    if (verb === 'create') {
      if (item) throw serverError(NAMESPACE_EXISTS);
      const view = typeof command.viewOn === 'string';
      this.catalog.set(ns, view
        ? { type: 'view', viewOn: command.viewOn, pipeline: command.pipeline, ...(command.collation ? { collation: command.collation } : {}) }
        : { type: 'collection' });
    } else if (verb === 'collMod') {
      if (!item) throw serverError(NAMESPACE_NOT_FOUND);
      if (item.type !== 'view') throw serverError(INVALID_OPTIONS);
      item.viewOn = command.viewOn;
      item.pipeline = command.pipeline;
    } else if (verb === 'drop') {
      if (!item) throw serverError(NAMESPACE_NOT_FOUND);
      this.catalog.delete(ns);
    } else {
      assert.fail(`unexpected command ${verb}`);
    }
  }
}

function serverError(code: number): MongoServerError {
  return new MongoServerError({ ok: 0, code, errmsg: `code ${code}` });
}

describe('replaying system.views entries', () => {
  it('is idempotent: twice over a base that already has the view gives the source\'s views', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'view-entries-'));
    try {
      const file = join(dir, 'oplog.bson');
      const oplog = [
        createView(BIG),
        modifyView(BIGGER),
        entry('i', { _id: 'shop.cheap_orders', viewOn: 'orders', pipeline: [{ $match: { total: { $lt: 5 } } }] }),
        dropView(),
        createView(BIG, { collation: FRENCH }),
        entry('i', { _id: 'shop.by_city', viewOn: 'big_orders', pipeline: [{ $sortByCount: '$city' }], collation: FRENCH }),
        entry('d', { _id: 'shop.cheap_orders' }),
      ];
      await writeFile(file, Buffer.concat(oplog.map((e) => BSON.serialize(e))));
      const applier = new CatalogApplier();
      // The base: the collection, and the view as the dump's catalog read saw it mid-oplog.
      applier.catalog.set('shop.orders', { type: 'collection' });
      applier.catalog.set('shop.big_orders', { type: 'view', viewOn: 'orders', pipeline: BIGGER });
      const expected = new Map<string, CatalogItem>([
        ['shop.orders', { type: 'collection' }],
        ['shop.big_orders', { type: 'view', viewOn: 'orders', pipeline: BIG, collation: FRENCH }],
        ['shop.by_city', { type: 'view', viewOn: 'big_orders', pipeline: [{ $sortByCount: '$city' }], collation: FRENCH }],
      ]);
      for (const pass of [1, 2]) {
        const receipt = await replay({ applier, files: [file], namespaces: compileNamespaceMapper({}) });
        assert.deepEqual(plain(applier.catalog), plain(expected), `pass ${pass}`);
        assert.deepEqual(receipt.skipped, {}, `pass ${pass}: nothing skipped`);
        assert.equal(receipt.appliedByNs['shop.$cmd'], 2 + 2 + 2 + 1 + 2 + 2 + 1, `pass ${pass}`);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('does not apply a view twice when a `c` create of it is logged too (applyOps written by hand)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'view-entries-'));
    try {
      const file = join(dir, 'oplog.bson');
      const create = entry('i', {}, { op: 'c', ns: 'shop.$cmd', o: { create: 'big_orders', viewOn: 'orders', pipeline: BIG } });
      delete create.ui;
      await writeFile(file, Buffer.concat([create, createView(BIG)].map((e) => BSON.serialize(e))));
      const applier = new CatalogApplier();
      const receipt = await replay({ applier, files: [file], namespaces: compileNamespaceMapper({}) });
      assert.deepEqual(plain(applier.catalog), plain(new Map([['shop.big_orders', { type: 'view', viewOn: 'orders', pipeline: BIG }]])));
      assert.equal(applier.stats.commands, 3, 'create, create (NamespaceExists: already so), collMod');
      assert.deepEqual(receipt.skipped, {});
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** Decoded BSON numbers are Int32/Double objects: compare as extended JSON. */
function plain(catalog: Map<string, CatalogItem>): unknown {
  return JSON.parse(BSON.EJSON.stringify(Object.fromEntries([...catalog].sort()), { relaxed: true })) as unknown;
}
