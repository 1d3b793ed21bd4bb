// Chunk rotation flags shared by `oplog`, `run` and `stream`.
import type { Command } from 'commander';
import type { ChunkLimits } from '../archive/chunker.ts';
import { DEFAULT_CHUNK_BYTES, DEFAULT_CHUNK_SPAN_SECONDS } from '../archive/chunker.ts';
import { parseChunkLimits } from '../config.ts';

const MiB = 1024 * 1024;

export interface ChunkFlags {
  chunkSize: string;
  chunkSpan: string;
}

export function addChunkOptions(command: Command): Command {
  return command
    .option('--chunk-size <MiB>', 'rotate chunks at this much uncompressed oplog', String(DEFAULT_CHUNK_BYTES / MiB))
    .option('--chunk-span <duration>', 'rotate chunks spanning this much oplog time', `${DEFAULT_CHUNK_SPAN_SECONDS}s`);
}

export function limitsOf(flags: ChunkFlags): ChunkLimits {
  return parseChunkLimits(flags.chunkSize, flags.chunkSpan);
}
