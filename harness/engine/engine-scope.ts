/**
 * Which Docker engine a piece of work talks to. By default the one the environment names
 * (DOCKER_HOST, else the CLI's default); a platform placed on another node (--node) runs its work
 * inside `onEngine(node, ...)`, and every request and docker command started from there, however
 * deep, goes to that engine: the probe, the pull, the run, the second opinion and the cleanup alike.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { contextInUse, processVariables, type EngineEndpoint } from './endpoint.ts';

export type { EngineEndpoint } from './endpoint.ts';

const scope = new AsyncLocalStorage<EngineEndpoint>();

export function onEngine<T>(engine: EngineEndpoint | undefined, fn: () => Promise<T>): Promise<T> {
  return engine ? scope.run(engine, fn) : fn();
}

/** The engine the current work is placed on, when it is not the default one. */
export function currentEngine(): EngineEndpoint | undefined {
  return scope.getStore();
}

/**
 * The variables a placed engine sets over this process's, for a docker command or an API request
 * of the current work (undefined on the default engine). A context from the environment would
 * override the placed engine's DOCKER_HOST, so it is unset.
 */
export function placedVariables(): Record<string, string | undefined> | undefined {
  const placed = currentEngine();
  return placed ? { DOCKER_CONTEXT: undefined, ...placed.env } : undefined;
}

/** The DOCKER_HOST the current work's docker commands use (undefined: the CLI's default). */
export function currentDockerHost(): string | undefined {
  return currentEngine()?.env.DOCKER_HOST ?? process.env.DOCKER_HOST;
}

/** The name the default engine goes by in reports: its DOCKER_HOST, the context in use (DOCKER_CONTEXT or the CLI's currentContext), else "default". */
export function defaultEngineName(): string {
  if (process.env.DOCKER_HOST) return process.env.DOCKER_HOST;
  const context = contextInUse(processVariables());
  return context ? `context ${context}` : 'default';
}
