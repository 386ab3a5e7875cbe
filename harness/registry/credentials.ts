/**
 * Registry credentials, as the docker CLI finds them: MULTIARCH_REGISTRY_USERNAME/PASSWORD in the
 * environment first, then the user's docker config ($DOCKER_CONFIG or ~/.docker/config.json):
 * a credential helper for that registry, the global credsStore, or the stored "auth".
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { execCommand } from '../engine/docker.ts';
import { EnvironmentError } from '../errors.ts';

export interface Credentials {
  username: string;
  password: string;
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** Docker Hub's credentials are stored under its old index address. */
function configKeys(registry: string): string[] {
  return registry === 'docker.io' ? ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io'] : [registry, `https://${registry}`, `http://${registry}`];
}

export async function findCredentials(registry: string, env: NodeJS.ProcessEnv = process.env): Promise<Credentials | undefined> {
  if (env.MULTIARCH_REGISTRY_USERNAME && env.MULTIARCH_REGISTRY_PASSWORD) {
    return { username: env.MULTIARCH_REGISTRY_USERNAME, password: env.MULTIARCH_REGISTRY_PASSWORD };
  }
  const dir = env.DOCKER_CONFIG ?? join(homedir(), '.docker');
  const text = await readFile(join(dir, 'config.json'), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  let config: DockerConfig;
  try {
    config = JSON.parse(text) as DockerConfig;
  } catch {
    throw new EnvironmentError(`${join(dir, 'config.json')} is not JSON, so its registry credentials cannot be read: fix or move it (or set DOCKER_CONFIG to another folder).`);
  }
  const keys = configKeys(registry);
  const helper = keys.map((k) => config.credHelpers?.[k]).find(Boolean) ?? config.credsStore;
  if (helper) {
    for (const key of keys) {
      const r = await execCommand(`docker-credential-${helper}`, ['get'], { input: key, check: false, timeoutMs: 10_000 });
      if (r.exitCode === 0) {
        let c: { Username?: string; Secret?: string } = {};
        try {
          c = JSON.parse(String(r.stdout)) as typeof c;
        } catch {
          throw new EnvironmentError(`the credential helper docker-credential-${helper} answered something that is not JSON for ${key}.`);
        }
        if (c.Username && c.Secret) return { username: c.Username, password: c.Secret };
      }
    }
  }
  for (const key of keys) {
    const entry = config.auths?.[key];
    if (entry?.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
    if (entry?.username && entry.password) return { username: entry.username, password: entry.password };
  }
  return undefined;
}

/** Parses `WWW-Authenticate: Bearer realm="...",service="...",scope="..."` (or Basic). */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const params: Record<string, string> = {};
  for (const m of header.slice(space + 1).matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]*))/g)) params[m[1]!.toLowerCase()] = m[2] ?? m[3] ?? '';
  return { scheme, params };
}
