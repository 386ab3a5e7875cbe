/**
 * Where each platform runs: on the node it was placed on (--node), classified by what that engine
 * was observed to do, or on the default engine. The same platform can be native on one node and
 * emulated on another; each result says which engine ran it.
 */
import { defaultEngineName, nodeOf, type EngineNode } from '../engine/index.ts';
import type { HostProbe } from './probe.ts';
import { classify, type PlatformExecution, type Platform } from '../platform/index.ts';

export interface PlacedNode {
  node: EngineNode;
  /** What that engine can do, observed there. */
  probe: HostProbe;
}

export interface Placement {
  /** Undefined: the default engine. */
  node?: EngineNode;
  probe: HostProbe;
  /** The engine's name in reports (a node's name, or the default engine's). */
  engineName: string;
}

export function placementOf(platform: Platform, probe: HostProbe, nodes: readonly PlacedNode[] = []): Placement {
  const node = nodeOf(
    nodes.map((n) => n.node),
    platform,
  );
  const placed = node ? nodes.find((n) => n.node === node) : undefined;
  return placed ? { node: placed.node, probe: placed.probe, engineName: placed.node.name } : { probe, engineName: defaultEngineName() };
}

/** How a platform runs where it is placed. */
export function classifyPlaced(platform: Platform, probe: HostProbe, nodes: readonly PlacedNode[] = []): PlatformExecution {
  return classify(platform, placementOf(platform, probe, nodes).probe);
}
