import { execa } from 'execa';
import { fileURLToPath } from 'node:url';
import { SESSION_LABEL } from '../../harness/session/session.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = `${ROOT}bin/multiarch-harness.mjs`;

/** The CLI, as a user runs it; `env` adds to this process's environment (undefined: a variable left out). */
export async function cli(args: string[], env: Record<string, string | undefined> = {}) {
  return execa('node', [CLI, ...args], { cwd: ROOT, reject: false, env: { GITHUB_STEP_SUMMARY: '', ...env }, timeout: 30 * 60_000 });
}

/** Containers, networks and volumes that carry the harness's run label, and builders it named. */
export async function harnessLeftovers(): Promise<string[]> {
  const out: string[] = [];
  for (const kind of ['ps -a', 'network ls', 'volume ls']) {
    const r = await execa('docker', [...kind.split(' '), '-q', '--filter', `label=${SESSION_LABEL}`], { reject: false });
    out.push(
      ...r.stdout
        .split('\n')
        .filter(Boolean)
        .map((id) => `${kind}: ${id}`),
    );
  }
  const b = await execa('docker', ['buildx', 'ls', '--format', '{{.Name}}'], { reject: false });
  out.push(
    ...b.stdout
      .split('\n')
      .filter((n) => n.startsWith('mah-'))
      .map((n) => `builder: ${n}`),
  );
  return out;
}

export async function allContainers(): Promise<string[]> {
  return (await execa('docker', ['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean).sort();
}

/** Images in the engine's store whose name points at a run's registry (127.0.0.1:<port>/...), not the mirror; sorted. */
export async function runImages(): Promise<string[]> {
  const r = await execa('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}']);
  return r.stdout
    .split('\n')
    .filter((n) => /^127\.0\.0\.1:(?!5001\/)\d+\//.test(n))
    .sort();
}
