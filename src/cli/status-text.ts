// status and list as a person reads them: the store, then per source what it restores to (local
// time first, UTC beside it, how long ago), its gaps, the newest base, the lag, the chain's
// health, encryption, the chains, and a timeline row that fits the terminal. Times come first;
// oplog positions (seconds:ordinal) only with --verbose. Pure: clock, zone and width are inputs.
import type { DamageSummary, SourceSummary, Span, TimePoint } from '../archive/source-summary.ts';
import { pointMs } from '../archive/source-summary.ts';
import { counted } from './receipt-text.ts';
import { instantText, localParts } from '../words.ts';

export { instantText };
import { drawTimeline, TIMELINE_LEGEND } from './timeline-text.ts';

export interface StatusTextOptions {
  readonly nowMs: number;
  /** IANA zone for local times; undefined: the host's (process.env.TZ). */
  readonly timeZone?: string;
  /** Terminal columns (80 when not a terminal). */
  readonly columns: number;
  readonly verbose: boolean;
}

export interface PendingBaseText {
  readonly id: string;
  readonly setName: string;
  readonly startedAt: string;
  readonly collectionsStored: number;
  /** Collections part way through, dumped in pieces (backup/dump-pieces.ts); absent: none. */
  readonly partial?: { readonly collections: number; readonly pieces: number; readonly documents: number };
}

/** " and 3 pieces (2,000 documents) of 1 collection part way", or nothing. */
function partialText(partial: PendingBaseText['partial']): string {
  if (!partial) return '';
  return ` and ${counted(partial.pieces, 'piece')} (${counted(partial.documents, 'document')}) of ${counted(partial.collections, 'collection')} part way`;
}

export function statusLines(
  store: string,
  sources: readonly SourceSummary[],
  pending: readonly PendingBaseText[],
  liveLag: { readonly seconds: number; readonly setName: string } | undefined,
  options: StatusTextOptions,
): string[] {
  const lines = [`store ${store}`];
  if (sources.length === 0) lines.push('no backups in this store yet');
  for (const source of sources) lines.push('', ...sourceLines(source, liveLag?.setName === source.setName ? liveLag.seconds : undefined, options));
  for (const base of pending) {
    lines.push('', `pending base ${base.id} (${base.setName}), started ${instantText(Date.parse(base.startedAt), options)} (${ago(secondsSince(base.startedAt, options))}): ` +
      `${counted(base.collectionsStored, 'collection')} stored${partialText(base.partial)}, resumed by the next run`);
  }
  return lines;
}

function sourceLines(source: SourceSummary, liveLagSeconds: number | undefined, options: StatusTextOptions): string[] {
  const id = source.replicaSetId ? `replica set id ${source.replicaSetId}` : 'no replica set id (the server reports none)';
  const hosts = source.hosts && source.hostsSeenAt ? `, hosts ${source.hosts.join(', ')} (seen ${ago(secondsSince(source.hostsSeenAt, options))})` : '';
  const lines = [`${source.setName}  ${id}${hosts}`];
  const window = source.window;
  lines.push(window ? `  restorable: ${windowText(window, window.endAgeSeconds, options)}` : '  restorable: nothing (every chain is damaged)');
  lines.push(source.gaps.length === 0 ? '  gaps: none' : `  gaps: ${counted(source.gaps.length, 'gap')}, nothing restores`);
  for (const gap of source.gaps) lines.push(`    ${spanText(gap, options)} (${duration(gap.seconds)})`);
  const base = source.newestBase;
  lines.push(`  newest base: ${instantText(Date.parse(base.finishedAt), options)} (${ago(base.ageSeconds)}), ` +
    `${counted(base.documents, 'document')} in ${counted(base.collections, 'collection')}, ${bytesText(base.bytes)}${options.verbose ? `, chain ${base.chainId}` : ''}`);
  lines.push(`  lag: ${lagText(source, liveLagSeconds, options)}`);
  lines.push(`  health: ${healthText(source, options)}`);
  lines.push(`  encrypted: ${encryptionText(source)}`);
  lines.push(`  ${counted(source.chains.length, 'chain')}:`);
  for (const chain of source.chains) {
    const window = chain.window ? windowText(chain.window, undefined, options) : 'restores to nothing (damaged base)';
    // A chain whose pass saw other members than the newest did: say so, it may be another cluster of the same name.
    const otherHosts = chain.hosts && source.hosts && chain.hosts.join() !== source.hosts.join() ? `, hosts ${chain.hosts.join(', ')}` : '';
    lines.push(`    ${chain.id}: base ${counted(chain.base.documents, 'document')}, ${counted(chain.chunks, 'chunk')}, ${counted(chain.ops, 'oplog entry', 'oplog entries')}, ${bytesText(chain.storedBytes)}${otherHosts}${chain.damaged ? ', damaged' : ''}`);
    lines.push(`      ${window}`);
    if (chain.damage && chain.id !== source.chains.at(-1)?.id) lines.push(`      ${damageText(chain.damage, options)}`);
  }
  lines.push(...timelineLines(source, options));
  return lines;
}

/** The mode of the source's objects, and the KMS keys (ARNs, not secret) they name. */
function encryptionText(source: SourceSummary): string {
  const keys = source.kmsKeys.length === 0 ? '' : `; KMS ${source.kmsKeys.length === 1 ? 'key' : 'keys'} ${source.kmsKeys.join(', ')}`;
  if (source.encryption === 'none') return 'no';
  if (source.encryption === 'age') return 'age (every object)';
  if (source.encryption === 'kms') return `kms (every object${keys})`;
  return `mixed (objects in more than one mode of age, kms and plain: encryption was turned on, off or changed${keys})`;
}

/** "from <local> (<UTC>) to <local> (<UTC>) (3 minutes ago)"; the positions with --verbose. */
export function windowText(window: Span, endAgeSeconds: number | undefined, options: Pick<StatusTextOptions, 'timeZone' | 'verbose'>): string {
  const age = endAgeSeconds === undefined ? '' : ` (${ago(endAgeSeconds)})`;
  return `${spanText(window, options)}${age}`;
}

function spanText(span: Span, options: Pick<StatusTextOptions, 'timeZone' | 'verbose'>): string {
  return `from ${pointText(span.from, options)} to ${pointText(span.to, options)}`;
}

function pointText(point: TimePoint, options: Pick<StatusTextOptions, 'timeZone' | 'verbose'>): string {
  return `${instantText(pointMs(point), options)}${options.verbose ? ` [${point.t}:${point.i}]` : ''}`;
}

/** "just now", "1 second ago", "3 minutes ago", "2 hours ago", "5 days ago"; a future time (a clock ahead) "in …". */
export function ago(seconds: number): string {
  if (Math.abs(seconds) < 1) return 'just now';
  return seconds < 0 ? `in ${duration(-seconds)}` : `${duration(seconds)} ago`;
}

/** The largest whole unit: "45 seconds", "1 minute", "3 hours", "2 days". */
export function duration(seconds: number): string {
  const s = Math.floor(Math.abs(seconds));
  if (s < 60) return counted(s, 'second');
  if (s < 3600) return counted(Math.floor(s / 60), 'minute');
  if (s < 48 * 3600) return counted(Math.floor(s / 3600), 'hour');
  return counted(Math.floor(s / 86400), 'day');
}

/** "512 B", "1.5 KiB", "12.0 MiB", "3.2 GiB". */
export function bytesText(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

function lagText(source: SourceSummary, liveLagSeconds: number | undefined, options: StatusTextOptions): string {
  const live = liveLagSeconds === undefined ? '' : `${duration(liveLagSeconds)} behind the source now (its commit point, read just now); `;
  const lag = source.lag;
  if (lag.asOf === null || lag.asOfAgeSeconds === null) return `${live}unknown at the last pass (no oplog chunk archived since the base)`;
  const recorded = lag.seconds === null ? 'unknown' : `${duration(lag.seconds)} behind the source`;
  return `${live}${recorded} when the last chunk was sealed (${ago(lag.asOfAgeSeconds)})`;
}

function healthText(source: SourceSummary, options: StatusTextOptions): string {
  const health = source.health;
  const verified = health.verifiedAt && health.verifiedAgeSeconds !== null
    ? `every object read back and hashed ${ago(health.verifiedAgeSeconds)}`
    : 'not read back and hashed yet (every pass checks presence and size; run verify to hash)';
  const older = source.chains.slice(0, -1).filter((chain) => chain.damaged).length;
  const olderText = older === 0 ? '' : `; ${counted(older, 'older chain')} damaged (below)`;
  return health.damage ? `${damageText(health.damage, options)}${olderText}` : `ok, ${verified}${olderText}`;
}

function damageText(damage: DamageSummary, options: StatusTextOptions): string {
  const upTo = damage.restorableUpTo;
  const restorable = upTo ? `restorable up to ${pointText(upTo, options)}` : 'not restorable';
  return `damaged: ${damage.key} ${damage.reason} (found ${instantText(Date.parse(damage.detectedAt), options)}); ${restorable}; no longer extended`;
}

/** One row of characters from the oldest base to now, the times at its ends, and the legend. */
function timelineLines(source: SourceSummary, options: StatusTextOptions): string[] {
  const starts = source.timeline.map((span) => pointMs(span.from));
  const ends = source.timeline.map((span) => pointMs(span.to));
  const startMs = Math.min(...starts);
  const endMs = Math.max(options.nowMs, ...ends);
  // "  [" and "]" around the bar, and one column spare: a row as wide as the terminal wraps on some.
  const width = Math.max(10, options.columns - 5);
  const row = drawTimeline(source.timeline, startMs, endMs, width);
  const left = shortTime(startMs, endMs - startMs, options);
  const right = `${shortTime(endMs, endMs - startMs, options)}${endMs === options.nowMs ? ' now' : ''}`;
  const axis = `${left}${' '.repeat(Math.max(1, width - left.length - right.length))}${right}`;
  const resolution = row.secondsPerColumn < 1 ? 'under a second' : `about ${duration(row.secondsPerColumn)}`;
  return [`  timeline, ${resolution} a column:`, `  [${row.bar}]`, `   ${axis}`, `   ${TIMELINE_LEGEND}`];
}

/** "17:02 GMT+1" today, "11-29 17:02 GMT+1" otherwise; with seconds when the row spans under two hours. */
function shortTime(ms: number, spanMs: number, options: StatusTextOptions): string {
  const at = localParts(ms, options.timeZone);
  const today = localParts(options.nowMs, options.timeZone).day;
  return `${at.day === today ? '' : `${at.day.slice(5)} `}${spanMs < 2 * 3600_000 ? at.time : at.time.slice(0, 5)} ${at.zone}`;
}

function secondsSince(iso: string, options: Pick<StatusTextOptions, 'nowMs'>): number {
  return Math.round((options.nowMs - Date.parse(iso)) / 1000);
}
