// mongo-pitr verify: every object's size and sha256, and every chain's continuity, without
// restoring (backup/verify-store.ts). On a cluster store (cluster.json at its root): every
// member store so, then cluster.json's references (cluster/cluster-verify.ts).
import type { Command } from 'commander';
import { verifyStore } from '../../backup/verify-store.ts';
import { isClusterStore } from '../../cluster/cluster-committer.ts';
import { verifyCluster, type ClusterVerifyResult, type MemberVerify } from '../../cluster/cluster-verify.ts';
import { IntegrityError } from '../../errors.ts';
import type { Store } from '../../store/store.ts';
import { contextOf, withStore, type Context } from '../context.ts';
import { counted } from '../receipt-text.ts';

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description("check every object's sha256 and each chain's continuity, without restoring (every member's, on a cluster store)")
    .action(async (_flags: unknown, command: Command) => {
      const context = contextOf(command);
      const done = await withStore(context, async (store) => {
        if (await isClusterStore(store)) {
          await verifyClusterCommand(context, store);
          return true;
        }
        return false;
      });
      if (done) return;
      const result = await withStore(context, (store) =>
        verifyStore(store, (chain, objects) => context.log.event('verify.chain', `chain ${chain.id}: ${counted(objects, 'object')} verified`)),
      );
      context.output.result({ type: 'verify', ok: true, chains: result.chains, objects: result.objects }, [`ok: ${counted(result.objects, 'object')} in ${counted(result.chains, 'chain')} verified`]);
    });
}

async function verifyClusterCommand(context: Context, store: Store): Promise<void> {
  const result = await verifyCluster(store, (outcome) => {
    const line = memberLine(outcome);
    if (outcome.ok) context.log.event('verify.member', line, { member: outcome.member.name });
    else context.log.warn(line);
  });
  const lines = [...result.members.map(memberLine), ...result.problems.map((problem) => `cluster: ${problem.message}`), clusterLine(result)];
  if (!result.ok) {
    const failed = result.members.filter((outcome) => !outcome.ok).map((outcome) => outcome.member.name);
    throw new IntegrityError(lines.join('\n'), {
      hint: failed.length > 0 ? `damaged member stores: ${failed.join(', ')} (each is a replica-set store under members/<name>/ of this store)` : 'the cluster bases named above cannot be restored: the next prune drops them (a member base gone ends their window), and the next run takes a new cluster base when the newest is among them',
    });
  }
  const objects = result.members.reduce((sum, outcome) => sum + (outcome.ok ? outcome.result.objects : 0), 0);
  const chains = result.members.reduce((sum, outcome) => sum + (outcome.ok ? outcome.result.chains : 0), 0);
  context.output.result(
    {
      type: 'verify',
      ok: true,
      cluster: true,
      chains,
      objects,
      clusterBases: result.clusterBases,
      members: result.members.map((outcome) => ({ name: outcome.member.name, ok: outcome.ok, ...(outcome.ok && { chains: outcome.result.chains, objects: outcome.result.objects }) })),
    },
    lines,
  );
}

function memberLine(outcome: MemberVerify): string {
  if (outcome.ok) return `${outcome.member.name}: ok: ${counted(outcome.result.objects, 'object')} in ${counted(outcome.result.chains, 'chain')} verified`;
  const message = outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
  return `${outcome.member.name}: FAILED: ${message}`;
}

function clusterLine(result: ClusterVerifyResult): string {
  if (result.problems.length > 0) return `cluster: FAILED: ${counted(result.problems.length, 'missing member base')} named by cluster.json`;
  const failed = result.members.filter((outcome) => !outcome.ok).length;
  if (failed > 0) return `cluster: FAILED: ${counted(failed, 'member')} of ${result.members.length} did not verify`;
  return `cluster: ok: ${counted(result.clusterBases, 'cluster base')}, every member base it names is held by its member`;
}
