// Polls a condition in a test until it holds, or fails naming what it waited for.
import { setTimeout as sleep } from 'node:timers/promises';

export async function waitFor(what: string, condition: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}
