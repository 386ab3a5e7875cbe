/**
 * Shared by the docker manifest scenarios: the article's echo-platform sample (FROM alpine,
 * RUN uname -a > /os.txt, CMD cat /os.txt) built with one `docker build` per platform and pushed
 * as its own repository, jianghushinian/echo-platform-<arch>, on the run's registry.
 */
import { fileURLToPath } from 'node:url';
import { formatPlatform, type Platform, platformSlug, samePlatform, type Step, type StepsContext } from 'multiarch-harness';

export const ECHO_CONTEXT = fileURLToPath(new URL('../../samples/echo-platform/', import.meta.url));

/**
 * BuildKit attaches a provenance attestation by default with the containerd image store, which
 * turns each pushed tag into an index that `docker manifest create` refuses ("is a manifest list").
 * The article's engine (20.10) did not; these builds turn it off, and 2.7 shows the refusal.
 */
export const NO_ATTESTATIONS = { ...process.env, BUILDX_NO_DEFAULT_ATTESTATIONS: '1' } as Record<string, string>;

export function repoFor(registry: string, p: Platform): string {
  const arch = platformSlug(p).replace(/^linux-/, '');
  return `${registry}/jianghushinian/echo-platform-${arch}`;
}

/** Builds and pushes one platform's image; `native` builds without --platform, as the article's 2.5. */
export async function buildAndPushEcho(s: Step, t: StepsContext, registry: string, p: Platform): Promise<string> {
  const ref = repoFor(registry, p);
  const native = samePlatform(p, t.probe.native);
  const platformArgs = native ? [] : [`--platform=${formatPlatform(p)}`];
  t.ctx.trackImage(ref);
  await s.must(['build', ...platformArgs, '-t', ref, ECHO_CONTEXT], { env: NO_ATTESTATIONS });
  const push = await s.must(['push', ref]);
  s.checkMatch(push.stdout, /latest: digest: sha256:[a-f0-9]{64} size: \d+/, `docker push ${ref}`);
  return ref;
}
