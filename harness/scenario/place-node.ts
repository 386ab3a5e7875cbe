/**
 * A node a run places platforms on (--node, a scenario's `nodes`, a steps scenario's t.node()):
 * resolved, recorded with the session before any work goes there (so cleanup reaches it), and
 * probed on its own engine. A node that cannot be used is one sentence naming it.
 */
import { onEngine, resolveNode, type NodeSpec } from '../engine/index.ts';
import type { Session } from '../session/index.ts';
import { EnvironmentError } from '../base/index.ts';
import { probeHost, type PlacedNode } from '../host/index.ts';
import { formatPlatform } from '../platform/index.ts';

export async function placeNode(session: Session, spec: NodeSpec, progress?: (m: string) => void): Promise<PlacedNode> {
  const node = resolveNode(spec);
  session.useEngine(node);
  const platforms = node.platforms.map(formatPlatform).join(', ');
  progress?.(`node ${node.name}: probing the engine for ${platforms}`);
  try {
    return { node, probe: await onEngine(node, () => probeHost({ session })) };
  } catch (err) {
    throw new EnvironmentError(`The node ${node.name} (for ${platforms}) cannot be used: ${whyUnusable((err as Error).message)}`);
  }
}

/**
 * Why a node's engine cannot be used, as one sentence about the node: the transport's own reason
 * kept (ssh's or TLS's words through `docker system dial-stdio`, the socket's errno, the engine's
 * answer), the probe's advice (start an engine here, run prepare-host) dropped, since it is about
 * this machine, not the node.
 */
function whyUnusable(message: string): string {
  const text = message.replace(/\s*\n\s*/g, ' ').trim();
  const tunnel = /^No Docker engine answers through `docker system dial-stdio` \((.*)\)\.?$/.exec(text);
  if (tunnel) return `no Docker engine answers there (${tunnel[1]}).`;
  const socket = /^No Docker engine answers \(([^)]*)\)/.exec(text);
  if (socket) return `no Docker engine answers there (${socket[1]}).`;
  const why = text
    .replace(/^The Docker engine cannot be used: it answered/, 'the engine there answered')
    .replace(/^The Docker engine cannot be used: /, '');
  return /[.!?]$/.test(why) ? why : `${why}.`;
}
