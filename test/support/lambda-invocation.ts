// What an in-process Lambda test needs around the handler: a context with a deadline, and the
// function's environment variables set for one invocation only.
import type { LambdaContext } from '../../src/lambda/handler.ts';
import { uniqueName } from './test-env.ts';

/** A Lambda context whose deadline is `budgetMs` past the safety margin `marginMs`. */
export function contextWith(budgetMs: number, marginMs: number): LambdaContext {
  const deadline = Date.now() + marginMs + budgetMs;
  return { awsRequestId: uniqueName('req'), getRemainingTimeInMillis: () => deadline - Date.now() };
}

/** Runs `work` with these environment variables set, then puts the environment back. */
export async function withEnv<T>(env: NodeJS.ProcessEnv, work: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  Object.assign(process.env, env);
  try {
    return await work();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}
