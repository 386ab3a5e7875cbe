/**
 * Which buildx builder a build scenario uses. The one given (--builder NAME) is used as it is and
 * never removed. Otherwise the engine's default builder, when it can build several platforms into
 * one pushed index: the docker driver can only with the containerd image store. On an engine with
 * the classic image store (the default on hosted CI runners) the harness creates a
 * docker-container builder for the run (network=host, so it reaches registries on 127.0.0.1;
 * buildx gives it ~/.docker/buildx/buildkitd.default.toml, the mirror config where there is one)
 * and removes it at the end.
 */
import { docker } from '../engine/docker.ts';
import type { Session } from '../engine/session.ts';
import type { HostProbe } from '../host/probe.ts';

export interface ChosenBuilder {
  name: string;
  /** One sentence for the report: which builder, and why. */
  note: string;
}

export async function chooseBuilder(session: Session, probe: HostProbe, requested: string | undefined, platformCount: number): Promise<ChosenBuilder> {
  if (requested) return { name: requested, note: `Built with the builder ${requested}, as asked (--builder).` };
  if (probe.imageStore === 'containerd' || platformCount < 2) {
    return { name: 'default', note: `Built with the engine's default builder (docker driver, ${probe.imageStore} image store).` };
  }
  const name = `${session.id}-builder`;
  session.trackBuilder(name);
  await docker(['buildx', 'create', '--name', name, '--driver', 'docker-container', '--driver-opt', 'network=host'], { timeoutMs: 120_000 });
  return {
    name,
    note: `The engine uses the classic image store, whose default builder cannot build several platforms into one image: built with a docker-container builder created for this run (${name}, network=host) and removed after it.`,
  };
}
