/**
 * `go build` for a target platform: the one place this repository cross-compiles Go (the stand-ins'
 * registry, BuildKit and binfmt tool, and the test corpus's sample binaries). Static (CGO off),
 * stripped, reproducible paths; GOOS/GOARCH/GOARM from the platform, anything else from `env`.
 */
import { execa } from 'execa';
import { formatPlatform, type Platform } from 'multiarch-harness';
import { goTargetEnv } from 'multiarch-harness/prepare';
import { setStatus } from './status.ts';

export interface GoBuild {
  /** A package path or a file, as `go build` takes it. */
  target: string;
  out: string;
  /** The target; without it, `env` names GOOS and GOARCH itself. */
  platform?: Platform;
  cwd?: string;
  /** Default "-s -w". */
  ldflags?: string;
  /** GOPATH, GOCACHE, GO111MODULE, GOAMD64, GOROOT, ... */
  env?: Record<string, string>;
}

export async function goBuild(b: GoBuild): Promise<void> {
  setStatus(`go build ${b.target} for ${b.platform ? formatPlatform(b.platform) : `${b.env?.GOOS ?? ''}/${b.env?.GOARCH ?? ''}`}`);
  await execa('go', ['build', '-trimpath', '-ldflags', b.ldflags ?? '-s -w', '-o', b.out, b.target], {
    ...(b.cwd ? { cwd: b.cwd } : {}),
    env: { CGO_ENABLED: '0', ...(b.platform ? goTargetEnv(b.platform) : {}), ...b.env },
  });
}
