/**
 * Registry credentials, as the docker CLI finds them: MULTIARCH_REGISTRY_USERNAME/PASSWORD in the
 * environment first, then the user's docker config ($DOCKER_CONFIG or ~/.docker/config.json):
 * a credential helper for that registry, the global credsStore, or the stored "auth".
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { execCommand, type CommandResult, EnvironmentError } from '../base/index.ts';

/**
 * A credential helper that is missing, failed, did not answer in time or answered no JSON. The
 * registry client keeps it and goes on without credentials, as `docker pull` does; it becomes the
 * reason in the sentence only if the registry then refuses (client.ts).
 */
export class CredentialHelperError extends EnvironmentError {
  override name = 'CredentialHelperError';
}

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
  return registry === 'docker.io'
    ? ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io']
    : [registry, `https://${registry}`, `http://${registry}`];
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
    throw new EnvironmentError(
      `${join(dir, 'config.json')} is not JSON, so its registry credentials cannot be read: fix or move it (or set DOCKER_CONFIG to another folder).`,
    );
  }
  const keys = configKeys(registry);
  // A helper named for this registry (credHelpers) comes before the one for every registry (credsStore).
  const helperKey = keys.find((k) => config.credHelpers?.[k]);
  const helper = helperKey ? config.credHelpers![helperKey]! : config.credsStore;
  if (helper) {
    const program = `docker-credential-${helper}`;
    // Which setting named it, for a sentence about it.
    const named = `${helperKey ? `credHelpers["${helperKey}"]` : 'credsStore'} in ${join(dir, 'config.json')}`;
    for (const key of keys) {
      const r = await execCommand(program, ['get'], { input: key, check: false, timeoutMs: HELPER_TIMEOUT_MS });
      if (r.exitCode === 0) {
        let c: { Username?: string; Secret?: string } = {};
        try {
          c = JSON.parse(String(r.stdout)) as typeof c;
        } catch {
          throw new CredentialHelperError(`The credential helper ${program} (${named}) answered something that is not JSON for ${key}.`);
        }
        if (c.Username && c.Secret) return { username: c.Username, password: c.Secret };
        continue;
      }
      // The helpers' protocol for "nothing stored for this server": the next key, and then the config's own "auths".
      if (/credentials not found/i.test(`${r.stdout}\n${r.stderr}`)) continue;
      throw helperFailed(program, named, key, r);
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

/** How long a credential helper may take to answer (a keychain that asks the user would take for ever). */
const HELPER_TIMEOUT_MS = 10_000;

/**
 * One sentence for a helper that did not answer: not on PATH, no answer in time, or a failure in
 * its own words (its last line; a helper says "credentials not found" when it has none, which is no failure).
 */
function helperFailed(program: string, named: string, key: string, r: CommandResult): CredentialHelperError {
  if (r.timedOut)
    return new CredentialHelperError(
      `The credential helper ${program} (${named}) did not answer within ${HELPER_TIMEOUT_MS / 1000} s for ${key}.`,
    );
  if (r.exitCode === undefined && r.signal === undefined) {
    return new CredentialHelperError(`The credential helper ${program} (${named}) cannot be started: is it installed and on PATH?`);
  }
  const last = `${r.stderr}\n${r.stdout}`
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .at(-1)
    ?.replace(/[.\s]+$/, '')
    .slice(0, 200);
  const how = r.exitCode === undefined ? `was ended by ${r.signal}` : `failed (exit code ${r.exitCode})`;
  return new CredentialHelperError(`The credential helper ${program} (${named}) ${how} for ${key}${last ? `: ${last}` : ''}.`);
}

/** Parses `WWW-Authenticate: Bearer realm="...",service="...",scope="..."` (or Basic). */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const params: Record<string, string> = {};
  for (const m of header.slice(space + 1).matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]*))/g)) params[m[1]!.toLowerCase()] = m[2] ?? m[3] ?? '';
  return { scheme, params };
}
