// Preloaded into mongo-pitr's child processes by the bench's --profile (node --import): turns on
// the driver's command monitoring for every MongoClient the tool connects, and at exit writes
// where the server time went — per command shape (command, namespace, and for oplog reads the
// filter/sort shape): count, total and longest duration — to BENCH_TRACE_FILE as JSON.
// The tool's code is untouched; only MongoClient.prototype.connect is wrapped.
// With BENCH_MEMORY_FILE it also samples process.memoryUsage() every 250 ms and writes the peak
// of each part (V8 heap used/total, external, array buffers, rss) there at exit: what an RSS
// peak is made of.
import { writeFileSync } from 'node:fs';
import { MongoClient, type CommandStartedEvent, type CommandSucceededEvent, type CommandFailedEvent, type Document } from 'mongodb';

export interface CommandStat {
  readonly shape: string;
  count: number;
  totalMs: number;
  maxMs: number;
}

const file = process.env.BENCH_TRACE_FILE;
if (file) {
  const stats = new Map<string, CommandStat>();
  const started = new Map<number, string>();
  /** Cursor id → the shape of the find or aggregate that opened it, so getMores are charged to it. */
  const cursors = new Map<string, string>();
  const shapeOf = (event: CommandStartedEvent): string => {
    const command = event.command as Document;
    const name = event.commandName;
    if (name === 'getMore') return cursors.get(String(command.getMore)) ?? `getMore ${event.databaseName}.${String(command.collection)}`;
    const target = typeof command[name] === 'string' ? `${event.databaseName}.${String(command[name])}` : event.databaseName;
    if (name === 'find' || name === 'aggregate' || name === 'delete' || name === 'update') {
      const details = [
        command.filter && `filter ${keysOf(command.filter)}`,
        command.sort && `sort ${JSON.stringify(command.sort instanceof Map ? Object.fromEntries(command.sort) : command.sort)}`,
        command.hint && `hint ${JSON.stringify(command.hint instanceof Map ? Object.fromEntries(command.hint) : command.hint)}`,
        command.limit && `limit ${String(command.limit)}`,
        command.pipeline && `pipeline ${JSON.stringify((command.pipeline as Document[]).map((stage) => Object.keys(stage)[0]))}`,
      ].filter(Boolean);
      return `${name} ${target}${details.length > 0 ? ` (${details.join(', ')})` : ''}`;
    }
    return `${name} ${target}`;
  };
  const done = (event: CommandSucceededEvent | CommandFailedEvent, failed: boolean): void => {
    const shape = started.get(event.requestId);
    if (shape === undefined) return;
    started.delete(event.requestId);
    const stat = stats.get(shape) ?? { shape, count: 0, totalMs: 0, maxMs: 0 };
    stat.count++;
    stat.totalMs += event.duration;
    stat.maxMs = Math.max(stat.maxMs, event.duration);
    stats.set(shape, stat);
    if (!failed && 'reply' in event) {
      const cursor = (event.reply as Document | undefined)?.cursor as Document | undefined;
      if (cursor?.id !== undefined && String(cursor.id) !== '0') cursors.set(String(cursor.id), shape);
    }
  };
  const connect = MongoClient.prototype.connect;
  const watched = new WeakSet<MongoClient>();
  MongoClient.prototype.connect = function (this: MongoClient) {
    if (!watched.has(this)) {
      watched.add(this);
      // A setter the driver has (mongo_client.js) but does not declare; read when connect builds the topology.
      (this as unknown as { monitorCommands: boolean }).monitorCommands = true;
      this.on('commandStarted', (event) => void started.set(event.requestId, shapeOf(event)));
      this.on('commandSucceeded', (event) => done(event, false));
      this.on('commandFailed', (event) => done(event, true));
    }
    return connect.call(this);
  } as typeof connect;
  process.on('exit', () => {
    const list = [...stats.values()].sort((a, b) => b.totalMs - a.totalMs);
    writeFileSync(file, `${JSON.stringify(list, null, 1)}\n`);
  });
}

function keysOf(filter: unknown): string {
  if (filter === null || typeof filter !== 'object') return JSON.stringify(filter);
  const entries = Object.entries(filter as Document).map(([key, value]) =>
    value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).every((k) => k.startsWith('$'))
      ? `${key}:{${Object.keys(value).join(',')}}`
      : key,
  );
  return `{${entries.join(', ')}}`;
}

const memoryFile = process.env.BENCH_MEMORY_FILE;
if (memoryFile) {
  const peak = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  const sample = (): void => {
    const usage = process.memoryUsage();
    for (const key of Object.keys(peak) as Array<keyof typeof peak>) peak[key] = Math.max(peak[key], usage[key]);
  };
  setInterval(sample, 250).unref();
  process.on('exit', () => {
    sample();
    writeFileSync(memoryFile, `${JSON.stringify(peak)}\n`);
  });
}
