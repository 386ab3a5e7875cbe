/**
 * The loopback-only remote nodes setup/prepare-host.sh makes (setup/loopback-nodes.sh), learnt for
 * the e2e tests independently of the harness: the classic-store engine on tcp://127.0.0.1:2376
 * with TLS (tlsverify; the CA and a client certificate in the state folder's tls/client, laid out
 * as a DOCKER_CERT_PATH), and an sshd on 127.0.0.1:2222 whose one key reaches the main engine
 * (ssh://root@127.0.0.1:2222). A test that needs them fails with a sentence saying what is
 * missing; none skips.
 */
import { createHash } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { DEFAULT_CLASSIC_HOST } from '../../../scenarios/support/classic-engine.ts';
import { SESSION_LABEL } from '../../../harness/session/session.ts';
import { stateDir } from '../../../harness/base/state-dir.ts';

export const TLS_HOST = 'tcp://127.0.0.1:2376';
export const SSH_HOST = 'ssh://root@127.0.0.1:2222';
/** The same classic-store engine as TLS_HOST, on its unix socket: what the tests read its state through. */
export const CLASSIC_HOST = DEFAULT_CLASSIC_HOST;

/** The CA, the client certificate and its key, as DOCKER_CERT_PATH wants them (ca.pem, cert.pem, key.pem). */
export function clientCertDir(): string {
  return join(stateDir(), 'tls', 'client');
}

/** Variables for a docker command on one engine alone, whatever this process's environment says. */
export function engineEnv(host: string, tls?: { certPath: string }): Record<string, string> {
  return {
    DOCKER_HOST: host,
    DOCKER_CONTEXT: '',
    DOCKER_TLS: '',
    DOCKER_TLS_VERIFY: tls ? '1' : '',
    DOCKER_CERT_PATH: tls?.certPath ?? '',
  };
}

/** The main engine as this process's docker commands reach it (DOCKER_HOST, else the CLI's default socket). */
export function mainEngineHost(): string {
  return process.env.DOCKER_HOST?.startsWith('unix://') ? process.env.DOCKER_HOST : 'unix:///var/run/docker.sock';
}

const lastLine = (text: string) => text.trim().split('\n').at(-1) ?? '';
const SETUP = 'bash setup/prepare-host.sh (as root) makes it';

async function engineId(env: Record<string, string>): Promise<{ id?: string; error?: string }> {
  const r = await execa('docker', ['info', '--format', '{{.ID}}'], { env, reject: false, timeout: 90_000 });
  return r.exitCode === 0 && r.stdout.trim() ? { id: r.stdout.trim() } : { error: lastLine(r.stderr) || `exit ${r.exitCode}` };
}

/**
 * Both nodes answer, and each is the engine it stands for: the TLS node is the classic-store engine
 * (the one on CLASSIC_HOST), the ssh node the main one. Throws a sentence naming what is missing.
 */
export async function requireLoopbackNodes(): Promise<void> {
  const certs = clientCertDir();
  for (const f of ['ca.pem', 'cert.pem', 'key.pem']) {
    await access(join(certs, f)).catch(() => {
      throw new Error(`The TLS node's client certificate ${join(certs, f)} is missing: ${SETUP}.`);
    });
  }
  const [tls, classic, ssh, main] = await Promise.all([
    engineId(engineEnv(TLS_HOST, { certPath: certs })),
    engineId(engineEnv(CLASSIC_HOST)),
    engineId(engineEnv(SSH_HOST)),
    engineId(engineEnv(mainEngineHost())),
  ]);
  if (!tls.id)
    throw new Error(
      `No engine answers on ${TLS_HOST} with the client certificate of ${certs} (${tls.error}): ${SETUP}, the classic-store engine listening there too.`,
    );
  if (!classic.id) throw new Error(`The classic-store engine does not answer on ${CLASSIC_HOST} (${classic.error}): ${SETUP}.`);
  if (tls.id !== classic.id)
    throw new Error(`The engine on ${TLS_HOST} is not the classic-store engine of ${CLASSIC_HOST}: ${SETUP} on it.`);
  if (!ssh.id)
    throw new Error(
      `No engine answers through ${SSH_HOST} (${ssh.error}): ${SETUP} (an sshd on 127.0.0.1:2222 and /etc/ssh/ssh_config.d/multiarch-harness.conf).`,
    );
  if (ssh.id !== main.id)
    throw new Error(
      `The engine reached through ${SSH_HOST} is not the main one of ${mainEngineHost()} (${main.error ?? 'another engine ID'}).`,
    );
}

/** A docker context for the TLS node (its certificates copied into the context's store), for the test's life. */
export async function createTlsContext(name: string, o: { clientCertificate: boolean }): Promise<void> {
  const d = clientCertDir();
  const tls = o.clientCertificate ? `,ca=${d}/ca.pem,cert=${d}/cert.pem,key=${d}/key.pem` : `,ca=${d}/ca.pem`;
  await execa('docker', [
    'context',
    'create',
    name,
    '--description',
    'multiarch-harness e2e (test/e2e/remote-nodes.test.ts)',
    '--docker',
    `host=${TLS_HOST}${tls}`,
  ]);
}

export async function createContext(name: string, host: string): Promise<void> {
  await execa('docker', [
    'context',
    'create',
    name,
    '--description',
    'multiarch-harness e2e (test/e2e/remote-nodes.test.ts)',
    '--docker',
    `host=${host}`,
  ]);
}

export async function removeContext(name: string): Promise<void> {
  await execa('docker', ['context', 'rm', '--force', name], { reject: false });
}

/** Everything an engine holds: containers, images, networks, volumes (what a run must leave as it found it). */
export async function engineState(host: string): Promise<string> {
  const env = engineEnv(host);
  const parts = await Promise.all([
    execa('docker', ['ps', '-aq', '--no-trunc'], { env }),
    execa('docker', ['images', '-q', '--no-trunc'], { env }),
    execa('docker', ['network', 'ls', '-q'], { env }),
    execa('docker', ['volume', 'ls', '-q'], { env }),
  ]);
  return parts.map((p) => p.stdout.split('\n').filter(Boolean).sort().join(' ')).join(' | ');
}

/** The main engine's images of some repositories, with their tags, digests and IDs (the main engine is shared: nothing broader). */
export async function repositoryImages(repositories: readonly string[]): Promise<string[]> {
  const r = await execa('docker', ['images', '--digests', '--format', '{{.Repository}} {{.Tag}} {{.Digest}} {{.ID}}'], {
    env: engineEnv(mainEngineHost()),
  });
  return r.stdout
    .split('\n')
    .filter((l) => repositories.includes(l.split(' ')[0]!))
    .sort();
}

/** A container the harness created, as the engine's create event tells it. */
export interface CreatedContainer {
  /** The reference it was created from, as given to the engine. */
  image: string;
  name: string;
  /** Its SESSION_LABEL: the session that made it. */
  run: string;
}

/** The harness's containers created on an engine since a moment (its own events, labels included). */
export async function harnessContainers(host: string, sinceMs: number): Promise<CreatedContainer[]> {
  const r = await execa(
    'docker',
    [
      'events',
      '--since',
      String(Math.floor(sinceMs / 1000)),
      '--until',
      String(Math.ceil(Date.now() / 1000) + 1),
      '--filter',
      'type=container',
      '--filter',
      'event=create',
      '--filter',
      `label=${SESSION_LABEL}`,
      '--format',
      '{{json .Actor.Attributes}}',
    ],
    { env: engineEnv(host), timeout: 60_000 },
  );
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const a = JSON.parse(l) as Record<string, string | undefined>;
      return { image: a.image ?? '', name: a.name ?? '', run: a[SESSION_LABEL] ?? '' };
    });
}

/**
 * A repository's index in a plain-HTTP registry on 127.0.0.1, read here (not through the harness):
 * its digest (the sha256 of the bytes served) and each entry's platform and digest.
 */
export async function registryIndex(
  registry: string,
  repository: string,
  tag: string,
): Promise<{ digest: string; entries: Array<{ platform: string; digest: string }> }> {
  const res = await fetch(`http://${registry}/v2/${repository}/manifests/${tag}`, {
    headers: { Accept: 'application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json' },
  });
  if (!res.ok) throw new Error(`${registry}/${repository}:${tag} could not be read: ${res.status} ${res.statusText}`);
  const body = Buffer.from(await res.arrayBuffer());
  const index = JSON.parse(body.toString('utf8')) as {
    manifests?: Array<{ digest: string; platform?: { os?: string; architecture?: string; variant?: string } }>;
  };
  if (!index.manifests) throw new Error(`${registry}/${repository}:${tag} is not an index`);
  return {
    digest: `sha256:${createHash('sha256').update(body).digest('hex')}`,
    entries: index.manifests.map((m) => ({
      platform: [m.platform?.os, m.platform?.architecture, m.platform?.variant].filter(Boolean).join('/'),
      digest: m.digest,
    })),
  };
}

/**
 * What is left of the tunnels after a run: `docker system dial-stdio` processes (the harness's, the
 * ssh client's remote command, the sshd session's) and sessions of the loopback sshd. An ssh
 * session ends a moment after its client, so this waits up to 20 s for none.
 */
export async function tunnelsLeft(): Promise<string[]> {
  const sshdPid = (await readFile(join(stateDir(), 'ssh', 'sshd.pid'), 'utf8').catch(() => '')).trim();
  let left: string[] = [];
  for (let i = 0; i < 40; i++) {
    const [dial, sessions] = await Promise.all([
      execa('pgrep', ['-af', 'docker system dial-stdio'], { reject: false }),
      sshdPid ? execa('pgrep', ['-aP', sshdPid], { reject: false }) : Promise.resolve({ stdout: '' }),
    ]);
    left = [...dial.stdout.split('\n'), ...sessions.stdout.split('\n')].filter(Boolean);
    if (!left.length) return [];
    await new Promise((r) => setTimeout(r, 500));
  }
  return left;
}
