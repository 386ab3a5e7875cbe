/**
 * A second engine with the classic image store, which setup/prepare-host.sh starts on its own
 * socket beside the main engine (containerd store), so that steps can show how the article's
 * engine behaved as well as how this one does. MULTIARCH_HARNESS_CLASSIC_HOST names another one.
 * The scenarios' own code, as a user's would be: it asks the engine with the docker CLI.
 */
import { stat } from 'node:fs/promises';
import { execa } from 'execa';

export const DEFAULT_CLASSIC_HOST = 'unix:///run/multiarch-harness/classic-engine.sock';

export type ClassicEngine =
  | { state: 'ready'; host: string; version: string }
  /** Configured (the variable is set, or the default socket exists) but not usable: a failure. */
  | { state: 'broken'; host: string; why: string }
  /** Nothing configured: the steps that need it say so. */
  | { state: 'absent'; host: string };

export async function findClassicEngine(): Promise<ClassicEngine> {
  const configured = process.env.MULTIARCH_HARNESS_CLASSIC_HOST;
  const host = configured || DEFAULT_CLASSIC_HOST;
  if (
    !configured &&
    !(await stat(host.replace(/^unix:\/\//, '')).then(
      () => true,
      () => false,
    ))
  )
    return { state: 'absent', host };
  const r = await execa('docker', ['info', '--format', '{{json .}}'], {
    env: { DOCKER_HOST: host },
    reject: false,
    timeout: 20_000,
    stdin: 'ignore',
  });
  const stdout = String(r.stdout ?? '');
  if (r.exitCode !== 0 || !stdout.startsWith('{'))
    return {
      state: 'broken',
      host,
      why: `no engine answers at ${host}: ${
        String(r.stderr ?? '')
          .trim()
          .split('\n')
          .at(-1) ?? ''
      }`,
    };
  const info = JSON.parse(stdout) as { ServerVersion?: string; DriverStatus?: Array<[string, string]> };
  // The containerd image store names its snapshotter in DriverStatus; the classic one does not.
  if ((info.DriverStatus ?? []).some(([k, v]) => k === 'driver-type' && v.includes('snapshotter'))) {
    return { state: 'broken', host, why: `the engine at ${host} uses the containerd image store, not the classic one` };
  }
  return { state: 'ready', host, version: info.ServerVersion ?? '?' };
}
