/**
 * What a stand-in recipe is. Each stand-in for a Docker Hub image is published for exactly the
 * platforms its upstream image is published for (scenarios/support/upstream-platforms.ts), so that a
 * scenario passing here passes for a user with internet too. A recipe prepares a build context
 * (files from Debian packages) and a Dockerfile; main.ts builds it for the listed platforms and
 * pushes it to the mirror registry under the upstream name. One recipe per file in recipes/.
 */
import { formatPlatform, type Platform } from 'multiarch-harness';
import { debianArch } from 'multiarch-harness/prepare';
import type { DebianArchive, FetchedPackage } from './debian-archive.ts';

interface RecipeContext {
  trixie: DebianArchive;
  /** The host's own suite, for runtime libraries where trixie's mirror is incomplete. */
  bookworm: DebianArchive;
  /** Folder to fill: the build context. */
  dir: string;
  stateDir: string;
}

export interface Recipe {
  /** Upstream reference, as a user's Dockerfile or scenario names it. */
  ref: string;
  /** Repository path in the mirror (Docker Hub's library/ prefix for official images). */
  mirrorRepo: string;
  tag: string;
  platforms: Platform[];
  /** Recipes whose images this one builds FROM (pushed first). */
  dependsOn: string[];
  /** Debian packages whose versions enter the cache key (trixie unless the suite says otherwise). */
  packages: Array<{ name: string; arch: string; suite?: 'bookworm' }>;
  /**
   * Built after the set-up says ready, in a process of its own, when it has to be built at all: only
   * some runs use it, and it is the long pole (recorded with multiarch-harness/prepare's
   * preparingImage: its users wait for it). `prepare-host.sh --wait` builds it before saying ready,
   * like the others.
   */
  background?: true;
  /** Fills ctx.dir with the Dockerfile and files; returns a package list for the label. */
  prepare(ctx: RecipeContext): Promise<FetchedPackage[]>;
}

/** The rootfs folder for a platform, as the Dockerfiles name it: ${TARGETARCH}${TARGETVARIANT}. */
export function rootfsKey(p: Platform): string {
  return `${p.architecture}${p.variant ?? ''}`;
}

export function perArch(name: string, platforms: Platform[]): Array<{ name: string; arch: string }> {
  return [...new Set(platforms.map(debianArch))].map((arch) => ({ name, arch }));
}

export function describeRecipe(r: Recipe): string {
  return `${r.ref} for ${r.platforms.map(formatPlatform).join(', ')}`;
}
