/**
 * Requires in testcontainers' dependency tree that run when the package loads but serve only what
 * the harness never asks of it, made lazy in its kept bundle (kept-bundle.ts): the module is
 * required on first use instead, as it would have been at load, only later. Loading the kept
 * bundle cost 163 ms of CPU per build scenario, of which (measured with --cpu-prof on 2 cores):
 *   - undici, for testcontainers' HTTP wait (the run registry has its own: registry-ready.ts): 38 ms;
 *   - dockerode's BuildKit session (gRPC and protobuf, for `docker build` with a session): 28 ms;
 *   - ssh2, for engines reached over ssh://: 16 ms;
 *   - archiver, for copying files into a container: 10 ms.
 * A rule whose text is not in the file (another version of the package) leaves the file as it is:
 * slower, never different.
 */
import { createHash } from 'node:crypto';

interface LazyRequire {
  /** The file, by its path's end under node_modules. */
  file: string;
  eager: string;
  lazy: string;
}

export const LAZY_REQUIRES: readonly LazyRequire[] = [
  {
    file: 'testcontainers/build/wait-strategies/http-wait-strategy.js',
    eager: 'const undici_1 = require("undici");',
    lazy: 'const undici_1 = new Proxy({}, { get: (_, name) => require("undici")[name] });',
  },
  {
    file: 'dockerode/lib/docker.js',
    eager: "withSession = require('./session'),",
    lazy: "withSession = function () { return require('./session').apply(this, arguments); },",
  },
  {
    file: 'docker-modem/lib/modem.js',
    eager: "ssh = require('./ssh'),",
    lazy: "ssh = function () { return require('./ssh').apply(this, arguments); },",
  },
  ...['generic-container.js', 'started-generic-container.js'].map((name) => ({
    file: `testcontainers/build/generic-container/${name}`,
    eager: 'const archiver_1 = __importDefault(require("archiver"));',
    // What __importDefault gives a CommonJS module without __esModule: { default: module }.
    lazy: 'const archiver_1 = { get default() { return require("archiver"); } };',
  })),
];

/** Names the rules, for the kept bundle's key: other rules, another bundle. */
export const LAZY_REQUIRES_ID = createHash('sha256').update(JSON.stringify(LAZY_REQUIRES)).digest('hex').slice(0, 8);

/** A file's text with its rules applied (each eager text replaced once, where it is found). */
export function withLazyRequires(path: string, text: string): string {
  let out = text;
  for (const rule of LAZY_REQUIRES) {
    if (path.endsWith(`/node_modules/${rule.file}`)) out = out.replace(rule.eager, rule.lazy);
  }
  return out;
}
