// The bench's one table: every measured number next to the peer's and the machine ceiling's,
// the ratios, and the targets each ratio is held to (✓ met, ✗ missed, – not measurable here).
import type { GeneratedOps, SeedResult } from './workload.ts';
import type { GzipCeiling, OplogCeiling, ReadCeiling, WriteCeiling } from './ceilings.ts';
import type { ProfileSummary } from './profile-summary.ts';
import type { CommandStat } from './trace-commands.ts';

const MB = 1e6;

/** One process's measured run. */
export interface Measured {
  readonly wallMs: number;
  readonly peakRssBytes: number | null;
  readonly cpuSeconds: number | null;
  readonly serverCpuSeconds: number | null;
}

/** A peer's stage: measured, or why not. */
export type PeerStage =
  // baseOnly: why --oplogReplay failed, when only the base's documents and indexes were timed.
  | (Measured & { readonly storedBytes?: number; readonly ops?: number; readonly baseOnly?: string })
  | { readonly unavailable: string };

export interface SizeResult {
  readonly docs: number;
  readonly db: string;
  readonly servers: { readonly source: string; readonly target: string; readonly sameServer: boolean };
  readonly seed: SeedResult;
  readonly ceilings: { readonly read: ReadCeiling; readonly gzip: GzipCeiling; readonly oplog: OplogCeiling; readonly write: WriteCeiling };
  readonly generated: GeneratedOps;
  readonly pitr: {
    readonly backup: Measured & { readonly documents: number; readonly rawBytes: number; readonly storedBytes: number; readonly oplogOps: number };
    readonly oplog: Measured & { readonly ops: number; readonly chunks: number; readonly rawBytes: number; readonly storedBytes: number };
    readonly restore: Measured & {
      readonly documents: number;
      readonly applied: number;
      readonly applyMode: string;
      /** The applier's counts (inserted, updated, deleted, missing, commands, transactions). */
      readonly stats: Record<string, number>;
      readonly downloadMs: number;
      readonly loadMs: number;
      readonly replayMs: number;
      /** VmRSS sampled every 0.5 s: the highest while loading the base, and while replaying. */
      readonly loadPeakRssBytes: number | null;
      readonly replayPeakRssBytes: number | null;
      readonly verified: string;
    };
  };
  readonly peer: { readonly dump: PeerStage; readonly oplogDump: PeerStage; readonly restoreBase: PeerStage; readonly replay: PeerStage };
  /** With --profile: each mongo-pitr stage's CPU profile summary and server time per command shape. */
  readonly profiles?: Record<string, { readonly cpu: ProfileSummary; readonly commands?: readonly CommandStat[]; readonly memory?: Record<string, number> }>;
  /** Wall time of each bench step, for extrapolating run times. */
  readonly stepsMs: Record<string, number>;
}

export const TARGETS = {
  backupVsPeer: 1.5,
  backupVsRead: 0.7,
  replayVsPeer: 10,
  replayVsWrite: 0.5,
  rssBytes: 256 * 1024 * 1024,
  /** "Flat": the largest size's peak at most this much above the smallest's. */
  rssGrowth: 1.25,
} as const;

type Mark = '✓' | '✗' | '–';

interface Row {
  stage: string;
  metric: string;
  docs: string;
  pitr: string;
  peer: string;
  vsPeer: string;
  ceiling: string;
  vsCeiling: string;
}

const fmt = (value: number, digits = 1): string => {
  if (!Number.isFinite(value)) return '–';
  if (Math.abs(value) >= 10_000) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(digits);
};
const perSecond = (count: number, ms: number): number => (ms > 0 ? (count * 1000) / ms : NaN);
const mbps = (bytes: number, ms: number): number => perSecond(bytes / MB, ms);
const mib = (bytes: number | null): string => (bytes === null ? '–' : fmt(bytes / 1024 / 1024, 0));
const mark = (ok: boolean | undefined): Mark => (ok === undefined ? '–' : ok ? '✓' : '✗');
const ratioCell = (ratio: number, target?: number): string => {
  if (!Number.isFinite(ratio)) return '–';
  const text = `${ratio.toFixed(2)}×`;
  return target === undefined ? text : `${text} ${mark(ratio >= target)} (≥${target})`;
};
const cpuCell = (measured: Measured): string => {
  const tool = measured.cpuSeconds === null ? '' : `cpu ${Math.round((measured.cpuSeconds * 1000 * 100) / measured.wallMs)}%`;
  const server = measured.serverCpuSeconds === null ? '' : `server ${Math.round((measured.serverCpuSeconds * 1000 * 100) / measured.wallMs)}%`;
  return [tool, server].filter(Boolean).join(', ');
};

function peerValue(stage: PeerStage, value: (measured: Exclude<PeerStage, { unavailable: string }>) => number, digits = 1): { text: string; value: number } {
  if ('unavailable' in stage) return { text: stage.unavailable.startsWith('failed') ? stage.unavailable : `unavailable: ${stage.unavailable}`, value: NaN };
  const number = value(stage);
  return { text: fmt(number, digits), value: number };
}

export function buildRows(results: readonly SizeResult[]): Row[] {
  const rows: Row[] = [];
  for (const r of results) {
    const docs = r.docs.toLocaleString('en-US');
    const raw = r.ceilings.read.bytes;
    const row = (stage: string, metric: string, cells: Partial<Row>): void =>
      void rows.push({ stage, metric, docs, pitr: '', peer: '', vsPeer: '', ceiling: '', vsCeiling: '', ...cells });
    const { backup, oplog, restore } = r.pitr;

    row('seed', 'docs/s (insertMany, source)', { pitr: `${fmt(perSecond(r.seed.docs, r.seed.ms))} (${fmt(raw / MB)} MB raw BSON)` });

    const backupMBps = mbps(raw, backup.wallMs);
    const peerBackup = peerValue(r.peer.dump, (m) => mbps(raw, m.wallMs));
    const readMBps = mbps(r.ceilings.read.bytes, r.ceilings.read.ms);
    const gzipMBps = mbps(r.ceilings.gzip.bytes, r.ceilings.gzip.ms);
    row('base backup', 'wall s', { pitr: `${fmt(backup.wallMs / 1000)} (${cpuCell(backup)})`, peer: peerValue(r.peer.dump, (m) => m.wallMs / 1000).text });
    row('base backup', 'docs/s', { pitr: fmt(perSecond(backup.documents, backup.wallMs)), peer: peerValue(r.peer.dump, (m) => perSecond(r.docs, m.wallMs)).text });
    row('base backup', 'MB/s raw BSON', {
      pitr: fmt(backupMBps),
      peer: peerBackup.text,
      vsPeer: ratioCell(backupMBps / peerBackup.value, TARGETS.backupVsPeer),
      ceiling: `read ${fmt(readMBps)}`,
      vsCeiling: ratioCell(backupMBps / readMBps, TARGETS.backupVsRead),
    });
    row('base backup', 'MB/s vs gzip, 1 core', { pitr: fmt(backupMBps), ceiling: `gzip ${fmt(gzipMBps)}`, vsCeiling: ratioCell(backupMBps / gzipMBps) });
    const peerStored = peerValue(r.peer.dump, (m) => (m.storedBytes ?? NaN) / MB);
    row('base backup', 'stored MB (raw/stored)', {
      pitr: `${fmt(backup.storedBytes / MB)} (${fmt(backup.rawBytes / backup.storedBytes, 2)}×)`,
      peer: Number.isFinite(peerStored.value) ? `${peerStored.text} (${fmt(raw / (peerStored.value * MB), 2)}×)` : peerStored.text,
      ceiling: `gzip ${fmt(r.ceilings.gzip.bytes / r.ceilings.gzip.gzBytes, 2)}×`,
    });
    row('base backup', 'peak RSS MiB', {
      pitr: `${mib(backup.peakRssBytes)} ${mark(backup.peakRssBytes === null ? undefined : backup.peakRssBytes < TARGETS.rssBytes)} (<256)`,
      peer: peerValue(r.peer.dump, (m) => (m.peakRssBytes ?? NaN) / 1024 / 1024, 0).text,
    });

    const oplogRate = perSecond(oplog.ops, oplog.wallMs);
    const peerOplog = peerValue(r.peer.oplogDump, (m) => perSecond(oplog.ops, m.wallMs));
    const oplogCeiling = perSecond(r.ceilings.oplog.ops, r.ceilings.oplog.ms);
    row('oplog archive', `ops/s (${oplog.ops.toLocaleString('en-US')} ops, ${oplog.chunks} chunks)`, {
      pitr: `${fmt(oplogRate)} (${cpuCell(oplog)})`,
      peer: peerOplog.text,
      vsPeer: ratioCell(oplogRate / peerOplog.value),
      ceiling: `oplog read ${fmt(oplogCeiling)}`,
      vsCeiling: ratioCell(oplogRate / oplogCeiling),
    });
    row('oplog archive', 'peak RSS MiB', {
      pitr: `${mib(oplog.peakRssBytes)} ${mark(oplog.peakRssBytes === null ? undefined : oplog.peakRssBytes < TARGETS.rssBytes)} (<256)`,
      peer: peerValue(r.peer.oplogDump, (m) => (m.peakRssBytes ?? NaN) / 1024 / 1024, 0).text,
    });

    const peerRestoreWall =
      'unavailable' in r.peer.restoreBase ? r.peer.restoreBase : 'unavailable' in r.peer.replay ? r.peer.replay : { ...r.peer.restoreBase, wallMs: r.peer.restoreBase.wallMs + r.peer.replay.wallMs };
    row('restore', `wall s (download ${fmt(restore.downloadMs / 1000)}, load ${fmt(restore.loadMs / 1000)}, replay ${fmt(restore.replayMs / 1000)})`, {
      pitr: `${fmt(restore.wallMs / 1000)} (${cpuCell(restore)})`,
      peer: peerValue(peerRestoreWall, (m) => m.wallMs / 1000).text,
    });
    const writeCeiling = perSecond(r.ceilings.write.docs, r.ceilings.write.ms);
    const loadRate = perSecond(restore.documents, restore.loadMs);
    const peerLoad = peerValue(r.peer.restoreBase, (m) => perSecond(r.docs, m.wallMs));
    const baseOnly = !('unavailable' in r.peer.restoreBase) && r.peer.restoreBase.baseOnly !== undefined;
    row('restore', 'base load docs/s', {
      pitr: fmt(loadRate),
      peer: baseOnly ? `${peerLoad.text} (base only: --oplogReplay failed)` : peerLoad.text,
      vsPeer: ratioCell(loadRate / peerLoad.value),
      ceiling: `insertMany ${fmt(writeCeiling)}`,
      vsCeiling: ratioCell(loadRate / writeCeiling),
    });
    const replayRate = perSecond(restore.applied, restore.replayMs);
    const peerReplay = peerValue(r.peer.replay, (m) => perSecond(m.ops ?? NaN, m.wallMs));
    row('replay', `ops/s (${restore.applied.toLocaleString('en-US')} ops, ${restore.applyMode})`, {
      pitr: fmt(replayRate),
      peer: peerReplay.text,
      vsPeer: ratioCell(replayRate / peerReplay.value, TARGETS.replayVsPeer),
      ceiling: `insertMany ${fmt(writeCeiling)}`,
      vsCeiling: ratioCell(replayRate / writeCeiling, TARGETS.replayVsWrite),
    });
    const generatorRate = perSecond(r.generated.total, r.generated.ms);
    row('replay', 'vs the same op mix by a plain client', {
      pitr: fmt(replayRate),
      ceiling: `generator ${fmt(generatorRate)}`,
      vsCeiling: ratioCell(replayRate / generatorRate),
    });
    row('restore', `peak RSS MiB (load ${mib(restore.loadPeakRssBytes)}, replay ${mib(restore.replayPeakRssBytes)}; ${restore.verified})`, {
      pitr: `${mib(restore.peakRssBytes)} ${mark(restore.peakRssBytes === null ? undefined : restore.peakRssBytes < TARGETS.rssBytes)} (<256)`,
      peer: peerValue(peerMax(r.peer.restoreBase, r.peer.replay), (m) => (m.peakRssBytes ?? NaN) / 1024 / 1024, 0).text,
    });
  }
  if (results.length >= 2) {
    const first = results[0] as SizeResult;
    const last = results.at(-1) as SizeResult;
    const span = `${first.docs.toLocaleString('en-US')}→${last.docs.toLocaleString('en-US')}`;
    for (const stage of ['backup', 'oplog', 'restore'] as const) {
      const a = first.pitr[stage].peakRssBytes;
      const b = last.pitr[stage].peakRssBytes;
      const growth = a && b ? b / a : NaN;
      rows.push({
        stage: `${stage} RSS flat`,
        metric: 'peak RSS MiB, smallest→largest',
        docs: span,
        pitr: `${mib(a)}→${mib(b)} (${fmt(growth, 2)}×) ${mark(Number.isFinite(growth) ? growth <= TARGETS.rssGrowth : undefined)} (≤${TARGETS.rssGrowth}×)`,
        peer: '',
        vsPeer: '',
        ceiling: '',
        vsCeiling: '',
      });
    }
  }
  return rows;
}

function peerMax(a: PeerStage, b: PeerStage): PeerStage {
  if ('unavailable' in a) return a;
  if ('unavailable' in b) return a.baseOnly !== undefined ? a : b;
  return { ...a, peakRssBytes: Math.max(a.peakRssBytes ?? 0, b.peakRssBytes ?? 0) };
}

const HEADERS: Row = {
  stage: 'stage',
  metric: 'metric',
  docs: 'docs',
  pitr: 'mongo-pitr',
  peer: 'mongodump / mongorestore',
  vsPeer: 'pitr / peer',
  ceiling: 'ceiling',
  vsCeiling: 'pitr / ceiling',
};

export function formatTable(rows: readonly Row[]): string {
  const keys = Object.keys(HEADERS) as Array<keyof Row>;
  const width = (key: keyof Row): number => Math.max(...[HEADERS, ...rows].map((row) => [...row[key]].length));
  const widths = new Map(keys.map((key) => [key, width(key)]));
  const line = (row: Row): string => `| ${keys.map((key) => row[key] + ' '.repeat((widths.get(key) ?? 0) - [...row[key]].length)).join(' | ')} |`;
  const rule = `|${keys.map((key) => '-'.repeat((widths.get(key) ?? 0) + 2)).join('|')}|`;
  return [line(HEADERS), rule, ...rows.map(line)].join('\n');
}

export function formatCommands(commands: readonly CommandStat[], wallMs: number, top = 8): string[] {
  return [
    '  server round trips by command shape (driver-measured; concurrent ones overlap):',
    ...commands.slice(0, top).map(
      (stat) =>
        `    ${(stat.totalMs / 1000).toFixed(1).padStart(7)} s ${`${Math.round((stat.totalMs * 100) / wallMs)}%`.padStart(5)} of wall  ` +
        `×${stat.count} (max ${(stat.maxMs / 1000).toFixed(2)} s)  ${stat.shape}`,
    ),
  ];
}
