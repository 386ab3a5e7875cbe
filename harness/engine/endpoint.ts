/**
 * Which engine, and how to reach it: the one reader of the variables that choose an engine
 * (DOCKER_HOST, DOCKER_CONTEXT, DOCKER_CONFIG, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH) and of the
 * docker CLI's context store (contexts/meta/<sha256 of the name>/meta.json and contexts/tls/…),
 * read once per process. An engine is named the way the CLI names it: by those variables
 * (`EngineEndpoint.env`), so a docker command placed on it (buildx) and an API request to it
 * (client.ts) reach the same engine; `reachOf` turns them into what a connection needs
 * (transport.ts dials it).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { EnvironmentError, UsageError } from '../base/index.ts';

/** An engine as the docker CLI is pointed at it. */
export interface EngineEndpoint {
  /** How the user named it: a docker context name or a DOCKER_HOST URL. */
  name: string;
  /** The variables that point the docker CLI at it (DOCKER_HOST, and for TLS DOCKER_TLS or DOCKER_TLS_VERIFY, DOCKER_CERT_PATH). */
  env: Record<string, string>;
}

/** The variables that choose an engine. */
export type EngineVariables = Partial<
  Record<
    | 'DOCKER_HOST'
    | 'DOCKER_CONTEXT'
    | 'DOCKER_CONFIG'
    | 'DOCKER_TLS'
    | 'DOCKER_TLS_VERIFY'
    | 'DOCKER_CERT_PATH'
    | 'MULTIARCH_ENGINE_TUNNEL',
    string
  >
>;

const ENGINE_VARIABLES = [
  'DOCKER_HOST',
  'DOCKER_CONTEXT',
  'DOCKER_CONFIG',
  'DOCKER_TLS',
  'DOCKER_TLS_VERIFY',
  'DOCKER_CERT_PATH',
  'MULTIARCH_ENGINE_TUNNEL',
] as const;

/** This process's own choice of engine. */
export function processVariables(env: NodeJS.ProcessEnv = process.env): EngineVariables {
  const out: EngineVariables = {};
  for (const v of ENGINE_VARIABLES) if (env[v] !== undefined) out[v] = env[v];
  return out;
}

/** How a connection reaches an engine. */
export type Reach =
  | { kind: 'unix'; socketPath: string }
  | { kind: 'tcp'; host: string; port: number; tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer; verify: boolean } }
  /** Only the CLI can dial it (ssh://, npipe://, or asked for: MULTIARCH_ENGINE_TUNNEL=1): `docker system dial-stdio` with these variables. */
  | { kind: 'tunnel'; env: EngineVariables };

export const URL_ENDPOINT = /^(unix|tcp|ssh|npipe):\/\/\S+$/;
export const CONTEXT_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.+-]*$/;

function configDir(env: EngineVariables): string {
  return env.DOCKER_CONFIG || join(homedir(), '.docker');
}

interface StoredContext {
  host: string | undefined;
  skipTLSVerify: boolean;
  /** The folder of its TLS files (ca.pem, cert.pem, key.pem), when it has them. */
  tlsDir: string | undefined;
}

const contexts = new Map<string, StoredContext | undefined>();

/** A context from the CLI's store (undefined: there is none of that name), read once per process. */
function storedContext(env: EngineVariables, name: string): StoredContext | undefined {
  const dir = configDir(env);
  const key = `${dir}\0${name}`;
  if (contexts.has(key)) return contexts.get(key);
  const id = createHash('sha256').update(name).digest('hex');
  let found: StoredContext | undefined;
  try {
    const meta = JSON.parse(readFileSync(join(dir, 'contexts', 'meta', id, 'meta.json'), 'utf8')) as {
      Endpoints?: { docker?: { Host?: string; SkipTLSVerify?: boolean } };
    };
    const tlsDir = join(dir, 'contexts', 'tls', id, 'docker');
    found = {
      host: meta.Endpoints?.docker?.Host,
      skipTLSVerify: Boolean(meta.Endpoints?.docker?.SkipTLSVerify),
      tlsDir: existsSync(tlsDir) ? tlsDir : undefined,
    };
  } catch {
    found = undefined;
  }
  contexts.set(key, found);
  return found;
}

/** The context the CLI would use when DOCKER_HOST is not set: DOCKER_CONTEXT, else the config's currentContext. */
export function contextInUse(env: EngineVariables): string | undefined {
  if (env.DOCKER_CONTEXT) return env.DOCKER_CONTEXT === 'default' ? undefined : env.DOCKER_CONTEXT;
  try {
    const config = JSON.parse(readFileSync(join(configDir(env), 'config.json'), 'utf8')) as { currentContext?: string };
    return config.currentContext && config.currentContext !== 'default' ? config.currentContext : undefined;
  } catch {
    return undefined;
  }
}

/** The variables of a context as DOCKER_HOST and its TLS files, the way a node named by it reaches its engine. */
function contextVariables(ctx: StoredContext): Record<string, string> {
  // As the CLI reads a context: TLS when it holds TLS files or skips verification; verified unless it skips.
  const tls =
    ctx.tlsDir || ctx.skipTLSVerify
      ? {
          DOCKER_TLS: '1',
          ...(ctx.tlsDir ? { DOCKER_CERT_PATH: ctx.tlsDir } : {}),
          ...(ctx.skipTLSVerify ? {} : { DOCKER_TLS_VERIFY: '1' }),
        }
      : {};
  return { DOCKER_HOST: ctx.host!, ...tls };
}

/**
 * The engine a --node ENDPOINT names: a DOCKER_HOST URL as it is, a context read from the store
 * (no `docker context inspect` process).
 */
export function resolveEndpoint(text: string, env: EngineVariables = processVariables()): EngineEndpoint {
  if (URL_ENDPOINT.test(text)) return { name: text, env: { DOCKER_HOST: text } };
  if (!CONTEXT_NAME.test(text))
    throw new UsageError(`--node: "${text}" is neither a DOCKER_HOST URL (unix://, tcp://, ssh://) nor a docker context name.`);
  const ctx = storedContext(env, text);
  if (!ctx)
    throw new UsageError(
      `--node: there is no docker context named "${text}" (docker context ls lists them), and it is not a DOCKER_HOST URL.`,
    );
  if (!ctx.host) throw new UsageError(`--node: the docker context "${text}" names no Docker endpoint.`);
  return { name: text, env: contextVariables(ctx) };
}

function readPem(dir: string, file: string): Buffer | undefined {
  try {
    return readFileSync(join(dir, file));
  } catch {
    return undefined;
  }
}

/**
 * How to reach the engine these variables choose, as the CLI would: DOCKER_HOST, else the context
 * in use, else /var/run/docker.sock. TLS (DOCKER_TLS_VERIFY or DOCKER_CERT_PATH, or a context with
 * TLS files) is spoken here, with the CLI's files (ca.pem, cert.pem, key.pem); ssh:// and npipe://
 * go through the CLI's tunnel.
 */
export function reachOf(env: EngineVariables): Reach {
  if (env.MULTIARCH_ENGINE_TUNNEL === '1') return { kind: 'tunnel', env };
  let vars: EngineVariables = env;
  if (!env.DOCKER_HOST) {
    const name = contextInUse(env);
    const ctx = name ? storedContext(env, name) : undefined;
    // A context the store lacks: the CLI's own sentence, through its tunnel.
    if (name && !ctx?.host) return { kind: 'tunnel', env };
    if (ctx) vars = { DOCKER_CONFIG: env.DOCKER_CONFIG, ...contextVariables(ctx) };
  }
  const host = vars.DOCKER_HOST || 'unix:///var/run/docker.sock';
  if (host.startsWith('unix://')) return { kind: 'unix', socketPath: host.slice('unix://'.length) };
  if (!host.startsWith('tcp://')) return { kind: 'tunnel', env };
  const url = new URL(host.replace(/^tcp:/, 'http:'));
  // As the CLI decides (cli/flags): DOCKER_TLS or DOCKER_TLS_VERIFY set (to anything, even 0) turns TLS on; DOCKER_CERT_PATH alone does not.
  const tls = Boolean(vars.DOCKER_TLS || vars.DOCKER_TLS_VERIFY);
  const base = { kind: 'tcp' as const, host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port || (tls ? 2376 : 2375)) };
  if (!tls) return base;
  const dir = vars.DOCKER_CERT_PATH || configDir(vars);
  const [ca, cert, key] = ['ca.pem', 'cert.pem', 'key.pem'].map((f) => readPem(dir, f));
  // The CLI refuses to verify without the CA it was told to trust, in one sentence: so does this.
  if (vars.DOCKER_TLS_VERIFY && !ca)
    throw new EnvironmentError(
      `DOCKER_TLS_VERIFY is set, but ${join(dir, 'ca.pem')} cannot be read (DOCKER_CERT_PATH names the folder of ca.pem, cert.pem and key.pem).`,
    );
  return {
    ...base,
    tls: { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}), verify: Boolean(vars.DOCKER_TLS_VERIFY) },
  };
}
