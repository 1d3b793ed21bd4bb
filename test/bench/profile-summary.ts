// Summarizes a V8 .cpuprofile (node --cpu-prof): where the process spent its samples, by area
// (idle, our code, the driver, zlib, GC, ...) and by function (self time). Used by the bench's
// --profile, and on its own: node test/bench/profile-summary.ts <file.cpuprofile> [top]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface ProfileSummary {
  readonly totalMs: number;
  /** Self time by area, in ms, largest first. */
  readonly areas: ReadonlyArray<{ readonly area: string; readonly ms: number; readonly share: number }>;
  /** Self time by function, in ms, largest first. */
  readonly top: ReadonlyArray<{ readonly fn: string; readonly ms: number; readonly share: number }>;
}

function areaOf(url: string, fn: string): string {
  if (fn === '(idle)') return 'idle (waiting on I/O: server, store)';
  if (fn === '(garbage collector)') return 'garbage collector';
  if (fn === '(program)') return 'native (program)';
  if (url.includes('/node_modules/bson/')) return 'bson';
  if (url.includes('/node_modules/mongodb/')) return 'mongodb driver';
  if (url.includes('/node_modules/@aws-sdk/') || url.includes('/node_modules/@smithy/')) return 'aws sdk';
  if (url.includes('/node_modules/')) return 'other dependencies';
  if (url.includes('/src/')) return 'mongo-pitr (src/)';
  if (url.startsWith('node:zlib') || fn.includes('zlib') || fn === 'processCallback') return 'node:zlib';
  if (url.startsWith('node:') || url === '') return 'node internals';
  return 'other';
}

export function summarizeProfile(file: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, index) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)));
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    total += us;
    const area = areaOf(frame.url, frame.functionName);
    areas.set(area, (areas.get(area) ?? 0) + us);
    const where = frame.url ? `${frame.url.replace(/^.*\/(node_modules|src)\//, '$1/').replace(/^file:\/\//, '')}:${frame.lineNumber + 1}` : '';
    const name = `${frame.functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
    functions.set(name, (functions.get(name) ?? 0) + us);
  }
  const ranked = (map: Map<string, number>) =>
    [...map.entries()].sort((a, b) => b[1] - a[1]).map(([key, us]) => ({ key, ms: us / 1000, share: total > 0 ? us / total : 0 }));
  return {
    totalMs: total / 1000,
    areas: ranked(areas).map(({ key, ms, share }) => ({ area: key, ms, share })),
    top: ranked(functions).slice(0, top).map(({ key, ms, share }) => ({ fn: key, ms, share })),
  };
}

export function formatProfile(summary: ProfileSummary): string[] {
  const pct = (share: number): string => `${(share * 100).toFixed(1).padStart(5)}%`;
  return [
    `  ${(summary.totalMs / 1000).toFixed(1)} s sampled; self time by area:`,
    ...summary.areas.map(({ area, share }) => `    ${pct(share)}  ${area}`),
    '  top functions (self time):',
    ...summary.top.map(({ fn, share }) => `    ${pct(share)}  ${fn}`),
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node test/bench/profile-summary.ts <file.cpuprofile> [top]');
    process.exit(2);
  }
  console.log(formatProfile(summarizeProfile(file, top ? Number(top) : 15)).join('\n'));
}
