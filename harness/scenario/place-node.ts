/**
 * A node a run places platforms on (--node, a scenario's `nodes`, a steps scenario's t.node()):
 * resolved, recorded with the session before any work goes there (so cleanup reaches it), and
 * probed on its own engine. A node that cannot be used is one sentence naming it.
 */
import { onEngine } from '../engine/engine-scope.ts';
import { resolveNode, type NodeSpec } from '../engine/nodes.ts';
import type { Session } from '../engine/session.ts';
import { EnvironmentError } from '../errors.ts';
import { probeHost } from '../host/probe.ts';
import { formatPlatform } from '../platform/platform.ts';
import type { PlacedNode } from '../checks/placement.ts';

export async function placeNode(session: Session, spec: NodeSpec, progress?: (m: string) => void): Promise<PlacedNode> {
  const node = await resolveNode(spec);
  session.useEngine(node);
  const platforms = node.platforms.map(formatPlatform).join(', ');
  progress?.(`node ${node.name}: probing the engine for ${platforms}`);
  try {
    return { node, probe: await onEngine(node, () => probeHost({ labels: session.labels })) };
  } catch (err) {
    // The probe's own advice (start an engine here, run prepare-host) is about this machine, not the node's.
    const why = /^No Docker engine answers/.test((err as Error).message) ? 'no Docker engine answers there (docker info failed).' : (err as Error).message;
    throw new EnvironmentError(`The node ${node.name} (for ${platforms}) cannot be used: ${why}`);
  }
}
