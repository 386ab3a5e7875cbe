/**
 * The mirror registry on 127.0.0.1: host infrastructure (like the engine) that serves the stand-ins
 * under their Docker Hub names, because daemon.json names it in registry-mirrors. It runs the
 * registry binary built for the host in a container of its own, restarted with the engine, with
 * its data in the state folder.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { docker } from '../support/docker.ts';
import { parsePlatform } from 'multiarch-harness';
import { buildRegistryBinary } from './registry-binary.ts';

const MIRROR_CONTAINER = 'multiarch-mirror';
const MIRROR_IMAGE = 'multiarch-harness/mirror-registry:local';

export async function mirrorHas(port: number, repo: string, tag: string): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/v2/${repo}/manifests/${tag}`, {
      method: 'HEAD',
      headers: { Accept: 'application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json' },
    });
    return res.ok;
  } catch {
    return false;
  }
}

async function mirrorAnswers(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/v2/`)).ok;
  } catch {
    return false;
  }
}

export async function ensureMirror(port: number, stateDir: string, log: (s: string) => void): Promise<void> {
  if (await mirrorAnswers(port)) return;
  const running = await docker(['inspect', '--format', '{{.State.Running}}', MIRROR_CONTAINER], { check: false });
  if (running.exitCode === 0) {
    await docker(['rm', '-f', MIRROR_CONTAINER]);
  }
  const haveImage = (await docker(['image', 'inspect', MIRROR_IMAGE], { check: false })).exitCode === 0;
  if (!haveImage) {
    const ctx = join(stateDir, 'standins', 'mirror-context');
    await mkdir(ctx, { recursive: true });
    await buildRegistryBinary(parsePlatform(await hostPlatform()), join(ctx, 'registry'), stateDir);
    await writeFile(
      join(ctx, 'config.yml'),
      'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /var/lib/registry\n  delete:\n    enabled: true\nhttp:\n  addr: :5000\n',
    );
    await writeFile(
      join(ctx, 'Dockerfile'),
      'FROM scratch\nCOPY registry /registry\nCOPY config.yml /config.yml\nLABEL io.multiarch-harness.role="mirror"\nENTRYPOINT ["/registry", "serve", "/config.yml"]\n',
    );
    await docker(['buildx', 'build', '--builder', 'default', '--load', '-t', MIRROR_IMAGE, ctx]);
  }
  const data = join(stateDir, 'mirror-data');
  await mkdir(data, { recursive: true });
  log(`starting the mirror registry on 127.0.0.1:${port} (container ${MIRROR_CONTAINER}, data in ${data})`);
  await docker([
    'run',
    '-d',
    '--name',
    MIRROR_CONTAINER,
    '--restart',
    'unless-stopped',
    '--label',
    'io.multiarch-harness.role=mirror',
    '-p',
    `127.0.0.1:${port}:5000`,
    '-v',
    `${data}:/var/lib/registry`,
    MIRROR_IMAGE,
  ]);
  for (let i = 0; i < 50; i++) {
    if (await mirrorAnswers(port)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the mirror registry did not answer on 127.0.0.1:${port} within 10 s.`);
}

async function hostPlatform(): Promise<string> {
  const { stdout } = await docker(['version', '--format', '{{.Server.Os}}/{{.Server.Arch}}']);
  return stdout.trim();
}
