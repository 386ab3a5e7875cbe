/**
 * Which buildx builder a build scenario uses. The one given (--builder NAME) is used as it is and
 * never removed. Otherwise the engine's default builder, when it can build several platforms into
 * one pushed index: the docker driver can only with the containerd image store. On an engine with
 * the classic image store (the default on hosted CI runners) the harness creates a
 * docker-container builder for the run (network=host, so it reaches registries on 127.0.0.1;
 * buildx gives it ~/.docker/buildx/buildkitd.default.toml, the mirror config where there is one)
 * and removes it at the end.
 *
 * A docker-container builder runs BuildKit's image, which buildx pulls on an engine that lacks it:
 * that image is the run's too, removed with the builder unless the engine had it before.
 */
import { imagesPresent, type Session } from '../session/index.ts';
import { dockerCli, defaultEngineName, onEngine, type EngineEndpoint } from '../engine/index.ts';
import { type HostProbe, awaitPreparedImage, type PlacedNode } from '../host/index.ts';
import { formatPlatform, samePlatform, type Platform } from '../platform/index.ts';

export interface ChosenBuilder {
  name: string;
  /** One sentence for the report: which builder, and why. */
  note: string;
  /** A builder with several members: the builder member that builds a platform. */
  memberOf?: (platform: string) => string | undefined;
}

/**
 * One builder member (what buildx calls a builder "node": its `--node` flag): its name in `buildx inspect`,
 * the engine it runs on, the platforms it builds.
 */
export interface BuilderMember {
  member: string;
  /** Undefined: the default engine (the current DOCKER_HOST or context). */
  endpoint?: string;
  platforms: Platform[];
}

/**
 * The builder members for a build whose platforms are placed on engines: one on the default engine for
 * the platforms placed nowhere, then one per node (in the order given) for its platforms.
 */
export function builderMembers(builder: string, platforms: readonly Platform[], nodes: readonly PlacedNode[]): BuilderMember[] {
  const placedOn = (p: Platform) => nodes.find((n) => n.node.platforms.some((q) => samePlatform(p, q)));
  const out: BuilderMember[] = [];
  const local = platforms.filter((p) => !placedOn(p));
  if (local.length) out.push({ member: `${builder}0`, platforms: local });
  for (const n of nodes) {
    const mine = platforms.filter((p) => placedOn(p) === n);
    if (mine.length) out.push({ member: `${builder}${out.length}`, endpoint: n.node.name, platforms: mine });
  }
  return out;
}

/**
 * One builder, one member per engine, each member restricted to its platforms
 * (`buildx create --append --node N --platform ...`), docker-container driver with network=host
 * (the run's registry listens on 127.0.0.1). BuildKit then builds each platform on the member that
 * lists it, all in one `buildx build`. Created for the run and always removed.
 */
async function createMemberBuilder(
  session: Session,
  platforms: readonly Platform[],
  nodes: readonly PlacedNode[],
  onWait?: (line: string) => void,
): Promise<ChosenBuilder> {
  const name = `${session.id}-members`;
  session.trackBuilder(name);
  const layout = builderMembers(name, platforms, nodes);
  await awaitBuildkitImage(onWait);
  await Promise.all(layout.map((n) => trackBuildkitImage(session, nodes.find((p) => p.node.name === n.endpoint)?.node)));
  for (const [i, n] of layout.entries()) {
    await dockerCli(
      [
        'buildx',
        'create',
        ...(i ? ['--append'] : []),
        '--name',
        name,
        '--node',
        n.member,
        '--driver',
        'docker-container',
        '--driver-opt',
        'network=host',
        '--platform',
        n.platforms.map(formatPlatform).join(','),
        ...(n.endpoint ? [n.endpoint] : []),
      ],
      { timeoutMs: 120_000 },
    );
  }
  await dockerCli(['buildx', 'inspect', '--bootstrap', name], { timeoutMs: 300_000 });
  const where = layout
    .map((n) => `${n.member} on ${n.endpoint ?? defaultEngineName()} (${n.platforms.map(formatPlatform).join(', ')})`)
    .join('; ');
  return {
    name,
    note: `Built with a builder of ${layout.length} member(s), one per engine, each building only its platforms: ${where}. Created for this session and removed after it.`,
    memberOf: (platform) => layout.find((n) => n.platforms.some((p) => formatPlatform(p) === platform))?.member,
  };
}

export async function chooseBuilder(
  session: Session,
  probe: HostProbe,
  requested: string | undefined,
  platforms: readonly Platform[],
  nodes: readonly PlacedNode[] = [],
  onWait?: (line: string) => void,
): Promise<ChosenBuilder> {
  const platformCount = platforms.length;
  if (requested) return { name: requested, note: `Built with the builder ${requested}, as asked (--builder).` };
  if (nodes.length) return createMemberBuilder(session, platforms, nodes, onWait);
  if (probe.imageStore === 'containerd' || platformCount < 2) {
    return { name: 'default', note: `Built with the engine's default builder (docker driver, ${probe.imageStore} image store).` };
  }
  const name = `${session.id}-builder`;
  session.trackBuilder(name);
  await awaitBuildkitImage(onWait);
  await trackBuildkitImage(session);
  await dockerCli(['buildx', 'create', '--name', name, '--driver', 'docker-container', '--driver-opt', 'network=host'], {
    timeoutMs: 120_000,
  });
  return {
    name,
    note: `The engine uses the classic image store, whose default builder cannot build several platforms into one image: built with a docker-container builder created for this session (${name}, network=host) and removed after it.`,
  };
}

/** The image buildx boots a docker-container builder from (its default --driver-opt image). */
export const BUILDKIT_IMAGE = 'moby/buildkit:buildx-stable-1';

/** Where another process (a host's set-up) is still preparing BuildKit's image, waits for it. */
function awaitBuildkitImage(onWait?: (line: string) => void): Promise<void> {
  return awaitPreparedImage(BUILDKIT_IMAGE, onWait ? { onWait } : {});
}

/** Whether `docker ...args` creates a builder that runs BuildKit's image (docker-container, buildx create's default driver). */
export function createsContainerBuilder(args: readonly string[]): boolean {
  if (args[0] !== 'buildx' || args[1] !== 'create') return false;
  const at = args.findIndex((a) => a === '--driver' || a.startsWith('--driver='));
  if (at < 0) return true;
  const driver = args[at]!.includes('=') ? args[at]!.split('=')[1] : args[at + 1];
  return driver === 'docker-container';
}

/**
 * Records BuildKit's image on the engine a builder member runs on (undefined: the default engine)
 * before buildx may pull it there: removed at the end when that engine did not have it, kept when
 * it did or could not say.
 */
async function trackBuildkitImage(session: Session, engine?: EngineEndpoint): Promise<void> {
  await onEngine(engine, async () => {
    const present = await imagesPresent([BUILDKIT_IMAGE]);
    session.trackImage(BUILDKIT_IMAGE, { present: present ? present.has(BUILDKIT_IMAGE) : true });
  });
}
