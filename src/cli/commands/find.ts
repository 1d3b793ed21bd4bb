// mongo-pitr find: search the archived oplog without restoring, one line per matching op
// (one JSON object per line with --json), printed as each verified object yields them. On a
// cluster store, every member's archive in turn, each line tagged with its member
// (cluster/cluster-find.ts); --set-name then picks members by name or set name.
import type { Command } from 'commander';
import { parsePositiveInt } from '../../config.ts';
import {
  FILTER_EXAMPLE,
  compileOpFilter,
  findOps,
  formatFoundOp,
  foundOpToJson,
  mergeOpFilterSpecs,
  parseIdJson,
  parseOpFilterJson,
} from '../../restore/find-ops.ts';
import { redactText } from '../../redact.ts';
import { isClusterStore } from '../../cluster/cluster-committer.ts';
import { findOpsInCluster } from '../../cluster/cluster-find.ts';
import { contextOf, stopSignal, withStore } from '../context.ts';
import { addSourceChoiceOptions, sourceChoiceOf, type SourceChoiceFlags } from '../source-choice-options.ts';
import { counted } from '../receipt-text.ts';

interface FindFlags extends SourceChoiceFlags {
  ns: string[];
  op: string[];
  command: string[];
  id?: string;
  from?: string;
  until?: string;
  limit?: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];
const collectList = (value: string, previous: string[]): string[] => [...previous, ...value.split(',').map((part) => part.trim()).filter(Boolean)];

export function registerFind(program: Command): void {
  const registered = program
    .command('find')
    .description(`search the archived oplog without restoring; [filter] is a JSON filter such as ${FILTER_EXAMPLE}`)
    .argument('[filter]', 'JSON object with any of ns, op, command, id, from, until (the flags below, combined)')
    .option('--ns <pattern>', 'namespace, mongorestore wildcards: shop.* (repeatable)', collect, [])
    .option('--op <type>', 'i, u, d, c or n (repeatable, or comma-separated)', collectList, [])
    .option('--command <name>', 'command name, e.g. drop, dropDatabase, renameCollection (repeatable)', collect, [])
    .option('--id <ejson>', `the document's _id as extended JSON: 42, '"abc"', '{"$oid":"…"}'`)
    .option('--from <time>', 'only ops at or after this time (ISO-8601, epoch seconds, or seconds:ordinal)')
    .option('--until <time>', 'only ops before this time')
    .option('--limit <n>', 'stop after this many matches');
  addSourceChoiceOptions(registered)
    .action(async (filterText: string | undefined, flags: FindFlags, command: Command) => {
      const context = contextOf(command);
      const fromFlags = {
        ns: flags.ns,
        op: flags.op,
        command: flags.command,
        id: flags.id === undefined ? undefined : parseIdJson(flags.id),
        from: flags.from,
        until: flags.until,
      };
      const spec = filterText === undefined ? fromFlags : mergeOpFilterSpecs(fromFlags, parseOpFilterJson(filterText, 'find'));
      const filter = compileOpFilter(spec, filterText ?? describeFlags(flags));
      const limit = flags.limit === undefined ? undefined : parsePositiveInt(flags.limit, '--limit');
      let matches = 0;
      let read = 0;
      let skipped = 0;
      const onObject = (_key: string, wasRead: boolean) => void (wasRead ? read++ : skipped++);
      await withStore(context, async (store) => {
        // A cluster store: every member's archive, each match tagged with its member.
        if (await isClusterStore(store)) {
          for await (const { member, op } of findOpsInCluster({ store, filter, limit, source: sourceChoiceOf(flags), signal: stopSignal(), onObject })) {
            matches++;
            const line = context.output.json ? JSON.stringify({ member: member.name, setName: member.setName, ...foundOpToJson(op) }) : `[${member.name}]  ${formatFoundOp(op)}`;
            process.stdout.write(`${redactText(line)}\n`);
          }
          return;
        }
        const found = findOps({ store, filter, limit, source: sourceChoiceOf(flags), signal: stopSignal(), onObject });
        for await (const op of found) {
          matches++;
          const line = context.output.json ? JSON.stringify(foundOpToJson(op)) : formatFoundOp(op);
          process.stdout.write(`${redactText(line)}\n`);
        }
      });
      context.log.event('find.done', `${counted(matches, 'matching op')}; ${counted(read, 'oplog object')} read and verified, ${skipped} skipped by their bounds`, { matches, read, skipped });
    });
}

function describeFlags(flags: FindFlags): string {
  const parts = [
    ...flags.ns.map((ns) => `--ns ${ns}`),
    ...flags.op.map((op) => `--op ${op}`),
    ...flags.command.map((name) => `--command ${name}`),
    flags.id === undefined ? '' : `--id ${flags.id}`,
    flags.from === undefined ? '' : `--from ${flags.from}`,
    flags.until === undefined ? '' : `--until ${flags.until}`,
  ];
  return parts.filter(Boolean).join(' ') || '(all ops)';
}
