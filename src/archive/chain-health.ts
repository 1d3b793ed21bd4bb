// A chain's health, pure: marking it damaged or verified in the manifest, and what a damaged
// chain still restores to. A damaged chunk cuts the window just before it (the chunks before it
// still link up from the base); a damaged base object makes the whole chain unrestorable, since
// every restore starts from the base.
import { IntegrityError } from '../errors.ts';
import { formatTs, type Ts } from '../timestamp.ts';
import type { Chain, ChainDamage, Manifest } from './manifest.ts';

export function markChainDamaged(manifest: Manifest, chainId: string, damage: ChainDamage): Manifest {
  return { ...manifest, chains: manifest.chains.map((chain) => (chain.id === chainId && !chain.damage ? { ...chain, damage } : chain)) };
}

export function markChainVerified(manifest: Manifest, chainId: string, at: string): Manifest {
  return { ...manifest, chains: manifest.chains.map((chain) => (chain.id === chainId ? { ...chain, verifiedAt: at } : chain)) };
}

export type Restorable =
  | { readonly kind: 'whole' }
  | { readonly kind: 'up-to'; readonly lastTs: Ts; readonly lastWall: string | null }
  | { readonly kind: 'none' };

/** How much of a chain a restore can still use. */
export function restorableExtent(chain: Chain): Restorable {
  if (!chain.damage) return { kind: 'whole' };
  const recorded = chain.damage.restorableUpTo;
  if (recorded === null) return { kind: 'none' };
  if (recorded !== undefined) return { kind: 'up-to', lastTs: recorded.ts, lastWall: recorded.wall };
  const index = chain.chunks.findIndex((chunk) => chunk.key === chain.damage?.key);
  if (index < 0) return { kind: 'none' };
  const before = index === 0 ? chain.base.oplog : chain.chunks[index - 1];
  return before ? { kind: 'up-to', lastTs: before.lastTs, lastWall: before.lastWall } : { kind: 'none' };
}

/**
 * The damage as recorded: with where the chain still restores to, worked out on the chain loaded
 * whole (check-chain.ts), so that status can tell it from the head alone.
 */
export function damageWithExtent(whole: Chain, damage: ChainDamage): ChainDamage {
  const extent = restorableExtent({ ...whole, damage: { key: damage.key, reason: damage.reason, detectedAt: damage.detectedAt } });
  return { ...damage, restorableUpTo: extent.kind === 'up-to' ? { ts: extent.lastTs, wall: extent.lastWall } : null };
}

/** One line for status and list. */
export function describeDamage(chain: Chain): string | null {
  if (!chain.damage) return null;
  const extent = restorableExtent(chain);
  const restorable =
    extent.kind === 'none' ? 'not restorable' : extent.kind === 'up-to' ? `restorable up to ${formatTs(extent.lastTs)}${extent.lastWall ? ` (${extent.lastWall})` : ''}` : 'restorable';
  return `damaged: ${chain.damage.key} ${chain.damage.reason} (found ${chain.damage.detectedAt}); ${restorable}; no longer extended`;
}

/** The error a pass ends with when the chain it would extend is damaged (exit 6). */
export class ChainDamaged extends IntegrityError {
  readonly chainId: string;
  readonly damage: ChainDamage;
  constructor(chain: Chain, damage: ChainDamage, note = '') {
    super(`chain ${chain.id} is damaged: ${damage.key} ${damage.reason}${note}`, {
      hint: 'the chain is no longer extended; a new base starts a new chain (mongo-pitr run or backup); mongo-pitr status shows what is still restorable',
    });
    this.chainId = chain.id;
    this.damage = damage;
  }
}

/**
 * Refuses to write a manifest that was written for another store location, unless adopted. A
 * manifest without a location (older ones, new stores) takes this store's.
 */
export function assertManifestHome(manifest: Manifest, storeUrl: string): void {
  if (manifest.storeUrl === undefined || manifest.storeUrl === storeUrl) return;
  throw new IntegrityError(`manifest.json was written for ${manifest.storeUrl}, not for this store (${storeUrl}); refusing to write to it`, {
    hint: 'if this store is its new home (a copy or a move, with every object), run once with --adopt-manifest',
  });
}
