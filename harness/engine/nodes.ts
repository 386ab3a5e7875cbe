/**
 * Nodes: other Docker engines a run places platforms on, `--node linux/arm64,linux/arm/v7=ENDPOINT`.
 * ENDPOINT is a DOCKER_HOST URL (unix://, tcp://, ssh://) or the name of a docker context, which is
 * read once from the CLI's context store into the variables that reach it (its host, and its TLS
 * files when it has them: endpoint.ts), so every request and command placed on the node names the
 * engine the same way.
 */
import { UsageError } from '../base/index.ts';
import { formatPlatform, parseKnownPlatformList, samePlatform, type Platform } from '../platform/index.ts';
import { CONTEXT_NAME, resolveEndpoint, URL_ENDPOINT, type EngineEndpoint } from './endpoint.ts';

export interface NodeSpec {
  platforms: Platform[];
  /** A DOCKER_HOST URL or a docker context name. */
  endpoint: string;
}

export interface EngineNode extends EngineEndpoint {
  platforms: Platform[];
}

/** "linux/arm64,linux/arm/v7=ENDPOINT" (the form of --node and of a scenario's `nodes`). */
export function parseNodeOption(text: string): NodeSpec {
  const eq = text.indexOf('=');
  if (eq <= 0 || eq === text.length - 1)
    throw new UsageError(`--node takes PLATFORMS=ENDPOINT, such as linux/arm64,linux/arm/v7=ssh://me@arm-box; got "${text}".`);
  const endpoint = text.slice(eq + 1).trim();
  if (!URL_ENDPOINT.test(endpoint) && !CONTEXT_NAME.test(endpoint)) {
    throw new UsageError(`--node: "${endpoint}" is neither a DOCKER_HOST URL (unix://, tcp://, ssh://) nor a docker context name.`);
  }
  return { platforms: parseKnownPlatformList(text.slice(0, eq)), endpoint };
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

/** The variables that reach a node's engine: a URL as it is, a context read from the CLI's store (endpoint.ts). */
export function resolveNode(spec: NodeSpec): EngineNode {
  return { ...resolveEndpoint(spec.endpoint), platforms: spec.platforms };
}

/** The node a platform is placed on, if any. */
export function nodeOf(nodes: readonly EngineNode[], platform: Platform): EngineNode | undefined {
  return nodes.find((n) => n.platforms.some((p) => samePlatform(p, platform)));
}
