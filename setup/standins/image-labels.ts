/** The labels every stand-in image carries: what it stands in for, and the Debian packages it is made of. */
import type { FetchedPackage } from './debian-archive.ts';

export const LABELS = (ref: string, packages: string, extra = '') =>
  `LABEL org.opencontainers.image.title="${ref} (offline stand-in)" \\
      org.opencontainers.image.description="Offline stand-in for docker.io/${ref}, built by multiarch-harness from Debian packages${extra}" \\
      org.opencontainers.image.vendor="multiarch-harness" \\
      io.multiarch-harness.standin="true" \\
      io.multiarch-harness.standin.upstream="docker.io/${ref}" \\
      io.multiarch-harness.standin.packages="${packages}"`;

export function packageSummary(pkgs: FetchedPackage[], suite: string): string {
  const byName = new Map<string, Set<string>>();
  for (const p of pkgs) {
    const key = `${p.name} ${p.version}`;
    if (!byName.has(key)) byName.set(key, new Set());
    byName.get(key)!.add(p.arch);
  }
  return [...byName].map(([k, arches]) => `${k} [${[...arches].join(',')}] (debian ${suite})`).join('; ');
}
