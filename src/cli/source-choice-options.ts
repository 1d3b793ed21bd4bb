// --set-name and --replica-set-id: which source's chains restore, find and export read when a
// store holds several (one per shard, or a replica set and the one restored from it).
import type { Command } from 'commander';
import type { SourceChoice } from '../archive/source-choice.ts';

export interface SourceChoiceFlags {
  setName?: string;
  replicaSetId?: string;
}

export function addSourceChoiceOptions(command: Command): Command {
  return command
    .option('--set-name <name>', 'the replica set whose chains to read, where the store holds several (mongo-pitr list shows them)')
    .option('--replica-set-id <id>', 'its replica set id, where two sources share a set name (a restored cluster)');
}

export function sourceChoiceOf(flags: SourceChoiceFlags): SourceChoice {
  return {
    ...(flags.setName !== undefined && { setName: flags.setName }),
    ...(flags.replicaSetId !== undefined && { replicaSetId: flags.replicaSetId }),
  };
}
