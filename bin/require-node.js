// Stops with one line when this Node cannot run mongo-pitr: imported first by bin/mongo-pitr, and
// run as `node bin/require-node.js` before `npm test` and `npm run demo` (package.json), whose
// .ts files an older Node refuses with a raw ERR_UNKNOWN_FILE_EXTENSION stack trace.
// Plain JavaScript that any Node since 14 parses: it must run on the Node it is refusing.
// `--typescript`: the caller runs .ts sources, which needs type stripping on by default
// (Node 22.18+ and 23.6+; process.features.typescript says whether this one has it).
import { readFileSync } from 'node:fs';

const HOW = 'install Node 24 LTS from https://nodejs.org (or `nvm install 24`) and put it first on PATH';

/** The lowest version package.json's "engines" allows: ">=22.18" → [22, 18, 0]. */
function minimumVersion() {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const match = /(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(String(pkg.engines && pkg.engines.node));
  return match ? [Number(match[1]), Number(match[2] || 0), Number(match[3] || 0)] : [22, 18, 0];
}

function older(have, need) {
  for (let k = 0; k < 3; k++) if (have[k] !== need[k]) return have[k] < need[k];
  return false;
}

export function nodeProblem(version = process.versions.node, typescript = process.features && process.features.typescript, needTypescript = false) {
  const need = minimumVersion();
  const have = version.split('.').map(Number);
  if (older(have, need)) return `mongo-pitr needs Node.js ${need[0]}.${need[1]} or newer, but this is Node ${version} (${process.execPath}): ${HOW}`;
  if (needTypescript && !typescript) return `mongo-pitr's .ts sources need a Node.js that strips types by default (22.18+, 23.6+), but this is Node ${version} (${process.execPath}): ${HOW}`;
  return undefined;
}

const problem = nodeProblem(undefined, undefined, process.argv.includes('--typescript'));
if (problem) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}
