// A child process that appends synthetic chunks to a folder store's newest chain, one commit a
// chunk, until killed: the crash tests SIGKILL it while it seals segments.
// Usage: node test/support/append-child.ts <store dir> <first n> <count> <step seconds>
import { FolderStore } from '../../src/store/folder-store.ts';
import { ManifestCommitter } from '../../src/backup/commit.ts';
import { appendChunks } from './synthetic-chain.ts';

const [dir, from, count, step] = process.argv.slice(2);
const store = new FolderStore(dir ?? '.');
const committer = await ManifestCommitter.open(store);
const chain = committer.manifest.chains.at(-1);
if (!chain) throw new Error('no chain in the store');
// One line a commit, so the test can kill it next to a segment seal.
let current = chain;
for (let n = Number(from); n < Number(from) + Number(count); n++) {
  current = await appendChunks(store, committer, current, n, 1, { stepSeconds: Number(step) });
  process.stdout.write(`${n}\n`);
}
process.stdout.write('done\n');
