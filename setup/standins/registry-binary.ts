/**
 * Cross-compiles a static distribution registry (2.8.2) for one platform from Debian's packaged Go
 * source (golang-github-docker-distribution-dev), in GOPATH mode, with the host's Go.
 */
import { copyFile, mkdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { platformSlug, type Platform } from 'multiarch-harness';
import { goBuild } from '../go-build.ts';

/** Small stand-ins for imports Debian does not package (see go/src/...). */
const OVERLAY_GOPATH = join(dirname(fileURLToPath(import.meta.url)), 'go');

export async function buildRegistryBinary(p: Platform, out: string, stateDir: string): Promise<void> {
  const cached = join(stateDir, 'standins', 'registry-bin', platformSlug(p));
  if (
    !(await stat(cached).then(
      () => true,
      () => false,
    ))
  ) {
    await mkdir(dirname(cached), { recursive: true });
    await goBuild({
      target: 'github.com/docker/distribution/cmd/registry',
      out: cached,
      platform: p,
      env: { GO111MODULE: 'off', GOPATH: `${OVERLAY_GOPATH}:/usr/share/gocode`, GOCACHE: join(stateDir, 'go-cache') },
    });
  }
  await copyFile(cached, out);
  await execa('chmod', ['0755', out]);
}
