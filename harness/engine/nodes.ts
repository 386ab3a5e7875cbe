/**
 * Nodes: other Docker engines a run places platforms on, `--node linux/arm64,linux/arm/v7=ENDPOINT`.
 * ENDPOINT is a DOCKER_HOST URL (unix://, tcp://, ssh://) or the name of a docker context, which is
 * read once into the variables that reach it (its host, and its TLS files when it has them), so
 * every command placed on the node names the engine the same way.
 */
import { UsageError } from '../errors.ts';
import { formatPlatform, parsePlatformList, samePlatform, type Platform } from '../platform/platform.ts';
import { docker } from './docker.ts';
import { rememberEngine } from './engine-api.ts';
import type { EngineEndpoint } from './engine-scope.ts';

export interface NodeSpec {
  platforms: Platform[];
  /** A DOCKER_HOST URL or a docker context name. */
  endpoint: string;
}

export interface EngineNode extends EngineEndpoint {
  platforms: Platform[];
}

const URL_ENDPOINT = /^(unix|tcp|ssh|npipe):\/\/\S+$/;
const CONTEXT_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.+-]*$/;

/** "linux/arm64,linux/arm/v7=ENDPOINT" (the form of --node and of a scenario's `nodes`). */
export function parseNodeOption(text: string): NodeSpec {
  const eq = text.indexOf('=');
  if (eq <= 0 || eq === text.length - 1)
    throw new UsageError(`--node takes PLATFORMS=ENDPOINT, such as linux/arm64,linux/arm/v7=ssh://me@arm-box; got "${text}".`);
  const endpoint = text.slice(eq + 1).trim();
  if (!URL_ENDPOINT.test(endpoint) && !CONTEXT_NAME.test(endpoint)) {
    throw new UsageError(`--node: "${endpoint}" is neither a DOCKER_HOST URL (unix://, tcp://, ssh://) nor a docker context name.`);
  }
  return { platforms: parsePlatformList(text.slice(0, eq)), endpoint };
}

/** A platform may be placed on one node only. */
export function checkPlacement(specs: readonly NodeSpec[]): void {
  const seen: { platform: Platform; endpoint: string }[] = [];
  for (const s of specs) {
    for (const p of s.platforms) {
      const twice = seen.find((x) => samePlatform(x.platform, p));
      if (twice)
        throw new UsageError(
          `${formatPlatform(p)} is placed on two nodes (${twice.endpoint} and ${s.endpoint}): give each platform one node.`,
        );
      seen.push({ platform: p, endpoint: s.endpoint });
    }
  }
}

interface ContextInspect {
  Endpoints?: { docker?: { Host?: string; SkipTLSVerify?: boolean } };
  TLSMaterial?: { docker?: string[] };
  Storage?: { TLSPath?: string };
}

/** The variables that reach a node's engine: a URL as it is, a context read with `docker context inspect`. */
export async function resolveNode(spec: NodeSpec): Promise<EngineNode> {
  if (URL_ENDPOINT.test(spec.endpoint)) return { name: spec.endpoint, env: { DOCKER_HOST: spec.endpoint }, platforms: spec.platforms };
  const r = await docker(['context', 'inspect', spec.endpoint], { check: false, timeoutMs: 20_000 });
  if (r.exitCode !== 0)
    throw new UsageError(
      `--node: there is no docker context named "${spec.endpoint}" (docker context ls lists them), and it is not a DOCKER_HOST URL.`,
    );
  const ctx = (JSON.parse(r.stdout) as ContextInspect[])[0] ?? {};
  const host = ctx.Endpoints?.docker?.Host;
  if (!host) throw new UsageError(`--node: the docker context "${spec.endpoint}" names no Docker endpoint.`);
  const tls =
    ctx.TLSMaterial?.docker?.length && ctx.Storage?.TLSPath
      ? { DOCKER_CERT_PATH: `${ctx.Storage.TLSPath}/docker`, ...(ctx.Endpoints?.docker?.SkipTLSVerify ? {} : { DOCKER_TLS_VERIFY: '1' }) }
      : {};
  const node = { name: spec.endpoint, env: { DOCKER_HOST: host, ...tls }, platforms: spec.platforms };
  // Whatever later names this engine by its DOCKER_HOST alone (the cleanup of what was pulled there) gets its TLS files too.
  rememberEngine(node.env);
  return node;
}

/** The node a platform is placed on, if any. */
export function nodeOf(nodes: readonly EngineNode[], platform: Platform): EngineNode | undefined {
  return nodes.find((n) => n.platforms.some((p) => samePlatform(p, platform)));
}
