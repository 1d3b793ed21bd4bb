// A member's replica-set store inside a cluster store: the cluster store under members/<name>/.
// The cipher (--encrypt/--identity) is attached to a Store object, not wrapped around it
// (crypt/store-cipher.ts), so the member's view carries the cluster store's cipher too.
import { cipherOf, attachCipher } from '../crypt/store-cipher.ts';
import { PrefixedStore } from '../store/prefixed-store.ts';
import type { Store } from '../store/store.ts';

export function memberStore(cluster: Store, prefix: string): Store {
  const member = new PrefixedStore(cluster, prefix);
  const cipher = cipherOf(cluster);
  return cipher ? attachCipher(member, cipher) : member;
}
