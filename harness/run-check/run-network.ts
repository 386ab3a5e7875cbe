/**
 * The network the run check's containers join (`docker run --network`): none unless asked. A verify
 * judges what the image's program does on each platform, and a program under test (perhaps
 * mislabeled, perhaps not the user's own) reaches nothing from it. It is cheaper too: no network
 * namespace to wire and unwire (8 platforms at once: 1.39 s with the default bridge, 1.09 s with
 * none, measured on 2 cores). `--network NAME` (or a scenario's `network`) gives one.
 */
import { UsageError } from '../base/index.ts';
import { Engine } from '../engine/index.ts';

export const DEFAULT_RUN_NETWORK = 'none';

/** A docker network name (or none, host, bridge, container:NAME); anything else is one sentence. */
export function networkName(text: string): string {
  if (/^(container:)?[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(text)) return text;
  throw new UsageError(`--network takes a docker network name (none, bridge, host, container:NAME or a network of yours); got "${text}".`);
}

/** A network of the user's own must exist before any work: one sentence instead of a failed run per platform. */
export async function assertNetworkExists(network: string | undefined): Promise<void> {
  if (!network) return;
  networkName(network);
  if (/^(none|bridge|host|default|container:.*)$/.test(network)) return;
  // An engine that does not answer is the probe's sentence to say, not this one's.
  if ((await Engine.current().networkExists(network)) === false) {
    throw new UsageError(
      `The network "${network}" does not exist on the engine (\`docker network ls\` lists those that do; none, bridge and host always do).`,
    );
  }
}
