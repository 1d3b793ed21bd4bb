// The balancer around a cluster base: stopped while the member bases are taken, and put back as
// the operator had it. Through a mongos: balancerStatus / balancerStop / balancerStart. With a
// topology file and no mongos, nothing can stop it, so the config server's own setting is read
// and a running balancer is refused unless --allow-balancer.
//
// Why a running balancer is only refused, not fatal to correctness: each member restores to the
// common cutoff exactly (its base plus its own oplog, fromMigrate entries included), and the
// config metadata at the cutoff says which shard owns what (orphans are removed by it). Stopping
// it is what PBM and the MongoDB docs ask for a cluster backup; we keep to that.
import type { Document, MongoClient } from 'mongodb';
import { SourceError } from '../errors.ts';

export type BalancerMode = 'full' | 'off';

/**
 * The mode a config.settings {_id: 'balancer'} document means, as the server reads it
 * (src/mongo/s/balancer_configuration.cpp, BalancerSettingsType::fromBSON): `stopped: true` is
 * off; else `mode`, "full" when absent; an unknown mode turns the balancer off; no document at
 * all is the default, full.
 */
export function balancerModeOf(settings: Document | null): BalancerMode {
  if (!settings) return 'full';
  if (settings.stopped === true) return 'off';
  const mode = settings.mode ?? 'full';
  return mode === 'full' ? 'full' : 'off';
}

export interface BalancerHold {
  /** Whether the balancer ran before this pass touched it. */
  readonly wasRunning: boolean;
  /** Puts the balancer back as it was (a no-op where it was off or cannot be controlled). */
  release(): Promise<void>;
}

export interface HoldBalancerOptions {
  /** A client on a mongos, when one is known. */
  readonly mongos?: MongoClient;
  /** A client on the config server replica set. */
  readonly config: MongoClient;
  readonly allowBalancer: boolean;
  /** From a pending cluster base: the balancer was running before an earlier pass stopped it. */
  readonly wasRunning?: boolean;
}

export async function holdBalancer(options: HoldBalancerOptions): Promise<BalancerHold> {
  if (options.mongos) return holdThroughMongos(options.mongos, options.wasRunning);
  const settings = await options.config.db('config').collection('settings').findOne({ _id: 'balancer' as unknown as Document['_id'] });
  const mode = balancerModeOf(settings);
  if (mode === 'full' && !options.allowBalancer) {
    throw new SourceError('the cluster\'s balancer is running and no mongos is known to stop it for the cluster base', {
      hint: 'stop it (sh.stopBalancer()) and run again, add "mongos" to the topology file, or pass --allow-balancer',
    });
  }
  return { wasRunning: mode === 'full', release: async () => undefined };
}

async function holdThroughMongos(mongos: MongoClient, wasRunningBefore: boolean | undefined): Promise<BalancerHold> {
  const admin = mongos.db('admin');
  const status = await admin.command({ balancerStatus: 1 });
  const running = status.mode === 'full';
  // A pass killed with the balancer stopped: the operator's state is the one recorded then.
  const wasRunning = wasRunningBefore ?? running;
  if (running) await admin.command({ balancerStop: 1 });
  return {
    wasRunning,
    release: async () => {
      if (wasRunning) await admin.command({ balancerStart: 1 });
    },
  };
}
