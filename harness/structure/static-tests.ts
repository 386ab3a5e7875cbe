/**
 * The tests of a container-structure-test file that need no container: file existence, file
 * content and metadata, judged from the platform's own layers and image config (what the binary
 * check reads too). container-structure-test's docker driver starts a container to read a file;
 * the layers hold the same bytes, and this way a platform that cannot run here is still tested.
 */
import { posix } from 'node:path';
import { envMap, type ImageFilesystem, type FsEntry } from '../image/index.ts';
import type { Platform } from '../platform/index.ts';
import type { ImageConfig } from '../registry/index.ts';
import type { StructureTestResult } from '../result/index.ts';
import {
  matches,
  type EnvVar,
  type FileContentTest,
  type FileExistenceTest,
  type LicenseTest,
  type MetadataTest,
} from '../structure-file/index.ts';

/** The image's environment as a map. */
export function configEnv(config: ImageConfig): Record<string, string> {
  return envMap(config.config?.Env);
}

/** $NAME and ${NAME} from the image's environment, as Go's os.Expand (unknown names become empty). */
export function expandEnv(text: string, env: Record<string, string>): string {
  return text.replace(
    /\$(?:\{([^}]*)\}|([A-Za-z0-9_]+|[*#$@!?-]))/g,
    (_m, braced: string | undefined, bare: string | undefined) => env[(braced ?? bare)!] ?? '',
  );
}

const TYPE_CHARS: Record<string, string> = { directory: 'd', symlink: 'L', 'character-device': 'Dc', 'block-device': 'D', fifo: 'p' };

/** A tar entry's mode as Go's fs.FileMode.String() prints it, which container-structure-test compares with. */
export function goModeString(e: Pick<FsEntry, 'mode' | 'tarType'>): string {
  let prefix = TYPE_CHARS[e.tarType] ?? '';
  // Go's order of the special letters: d a l T L D p S u g c t ?
  const order = 'dalTLDpSugct?';
  if (e.mode & 0o4000) prefix += 'u';
  if (e.mode & 0o2000) prefix += 'g';
  if (e.mode & 0o1000) prefix += 't';
  prefix = [...prefix].sort((a, b) => order.indexOf(a) - order.indexOf(b)).join('');
  const rwx = 'rwxrwxrwx';
  let perms = '';
  for (let i = 0; i < 9; i++) perms += e.mode & (1 << (8 - i)) ? rwx[i] : '-';
  return `${prefix || '-'}${perms}`;
}

const EXEC_BITS = { any: 0o111, owner: 0o100, group: 0o010, other: 0o001 } as const;

export function runFileExistenceTest(fs: ImageFilesystem, test: FileExistenceTest, env: Record<string, string>): StructureTestResult {
  const base = { name: test.name, kind: 'file-existence' as const };
  const path = expandEnv(test.path, env);
  const shown = path === test.path ? path : `${path} (${test.path})`;
  let entry: FsEntry | undefined;
  try {
    entry =
      fs.linkEntry(path) ??
      (fs.isRoot(path) ? { type: 'directory', layer: 0, size: 0, mode: 0o755, uid: 0, gid: 0, tarType: 'directory' } : undefined);
  } catch (err) {
    return { ...base, status: 'fail', message: `${shown} cannot be looked up: ${(err as Error).message}` };
  }
  if (!test.shouldExist)
    return entry
      ? { ...base, status: 'fail', message: `${shown} should not exist but does (${goModeString(entry)})` }
      : { ...base, status: 'pass', message: `${shown} does not exist` };
  if (!entry) return { ...base, status: 'fail', message: `${shown} should exist but does not` };
  const problems: string[] = [];
  const mode = goModeString(entry);
  if (test.permissions !== undefined && mode !== test.permissions) problems.push(`permissions ${mode}, expected ${test.permissions}`);
  if (test.isExecutableBy && !(entry.mode & EXEC_BITS[test.isExecutableBy]))
    problems.push(`not executable by ${test.isExecutableBy} (${mode})`);
  if (test.uid !== undefined && entry.uid !== test.uid) problems.push(`owner uid ${entry.uid}, expected ${test.uid}`);
  if (test.gid !== undefined && entry.gid !== test.gid) problems.push(`group gid ${entry.gid}, expected ${test.gid}`);
  return problems.length
    ? { ...base, status: 'fail', message: `${shown}: ${problems.join('; ')}` }
    : { ...base, status: 'pass', message: `${shown} ${mode} ${entry.uid}:${entry.gid}` };
}

function excerpt(s: string): string {
  const t = s.trim().replace(/\s+/g, ' ');
  return t.length > 100 ? `${t.slice(0, 97)}...` : t || '(empty)';
}

/** Expected patterns that do not match and excluded ones that do, as sentences. */
export function patternProblems(
  what: string,
  text: string,
  platform: Platform,
  expected: readonly string[],
  excluded: readonly string[],
): string[] {
  return [
    ...expected.filter((p) => !matches(p, text, platform)).map((p) => `expected /${p}/ in ${what}, got "${excerpt(text)}"`),
    ...excluded.filter((p) => matches(p, text, platform)).map((p) => `excluded /${p}/ found in ${what} "${excerpt(text)}"`),
  ];
}

export async function runFileContentTest(fs: ImageFilesystem, test: FileContentTest, platform: Platform): Promise<StructureTestResult> {
  const base = { name: test.name, kind: 'file-content' as const };
  let content: string;
  try {
    content = (await fs.read(test.path)).toString('utf8');
  } catch (err) {
    return { ...base, status: 'fail', message: `cannot read ${test.path}: ${(err as Error).message}` };
  }
  const problems = patternProblems(test.path, content, platform, test.expectedContents, test.excludedContents);
  return problems.length
    ? { ...base, status: 'fail', message: problems.join('; ') }
    : { ...base, status: 'pass', message: `${test.path}: ${content.length} bytes` };
}

function pairProblems(what: string, want: readonly EnvVar[], have: Record<string, string>, platform: Platform): string[] {
  const out: string[] = [];
  for (const w of want) {
    if (!(w.key in have)) {
      out.push(`${what} ${w.key} is not set`);
      continue;
    }
    const ok = w.isRegex ? matches(w.value, have[w.key]!, platform) : have[w.key] === w.value;
    if (!ok) out.push(`${what} ${w.key}="${have[w.key]}", expected ${w.isRegex ? `/${w.value}/` : `"${w.value}"`}`);
  }
  return out;
}

const sameList = (a: readonly string[] | null | undefined, b: readonly string[]) =>
  (a ?? []).length === b.length && b.every((x, i) => (a ?? [])[i] === x);
/** Exposed ports as container-structure-test lists them: "8080" for "8080/tcp", the protocol kept for others. */
const portsOf = (config: ImageConfig) => Object.keys(config.config?.ExposedPorts ?? {}).flatMap((p) => [p, p.replace(/\/tcp$/, '')]);

export function runMetadataTest(config: ImageConfig, test: MetadataTest, platform: Platform, name = 'metadata'): StructureTestResult {
  const c = config.config ?? {};
  const env = configEnv(config);
  const problems = [
    ...pairProblems('env', test.envVars, env, platform),
    ...test.unboundEnvVars.filter((v) => v.key in env).map((v) => `env ${v.key} should not be set`),
    ...pairProblems('label', test.labels, c.Labels ?? {}, platform),
  ];
  if (test.entrypoint && !sameList(c.Entrypoint, test.entrypoint))
    problems.push(`entrypoint ${JSON.stringify(c.Entrypoint ?? [])}, expected ${JSON.stringify(test.entrypoint)}`);
  if (test.cmd && !sameList(c.Cmd, test.cmd)) problems.push(`cmd ${JSON.stringify(c.Cmd ?? [])}, expected ${JSON.stringify(test.cmd)}`);
  if (test.workdir !== undefined && test.workdir !== '' && (c.WorkingDir ?? '') !== test.workdir)
    problems.push(`workdir "${c.WorkingDir ?? ''}", expected "${test.workdir}"`);
  if (test.user !== undefined && test.user !== '' && (c.User ?? '') !== test.user)
    problems.push(`user "${c.User ?? ''}", expected "${test.user}"`);
  const ports = portsOf(config);
  for (const p of test.exposedPorts) if (!ports.includes(p)) problems.push(`port ${p} is not exposed`);
  for (const p of test.unexposedPorts) if (ports.includes(p)) problems.push(`port ${p} should not be exposed`);
  const norm = (v: string) => posix.normalize(v).replace(/(.)\/$/, '$1');
  const volumes = Object.keys(c.Volumes ?? {}).map(norm);
  for (const v of test.volumes) if (!volumes.includes(norm(v))) problems.push(`volume ${v} is not declared`);
  for (const v of test.unmountedVolumes) if (volumes.includes(norm(v))) problems.push(`volume ${v} should not be declared`);
  return problems.length
    ? { name, kind: 'metadata', status: 'fail', message: problems.join('; ') }
    : { name, kind: 'metadata', status: 'pass' };
}

/** container-structure-test's refused licenses and the package it lets pass anyway (licenses.go). */
const REFUSED_LICENSES = ['AGPL', 'WTFPL'];
const LICENSE_ALLOWED_PACKAGES = ['libgnutls30'];

export async function runLicenseTest(fs: ImageFilesystem, test: LicenseTest, name: string): Promise<StructureTestResult> {
  const problems: string[] = [];
  const files = [...test.files];
  if (test.debian) {
    const isDirectory = (path: string) => {
      try {
        return fs.entry(path)?.type === 'directory';
      } catch {
        return false; // a symlink loop: no directory
      }
    };
    for (const pkg of fs.list('/usr/share/doc')) {
      if (LICENSE_ALLOWED_PACKAGES.includes(pkg) || !isDirectory(`/usr/share/doc/${pkg}`)) continue;
      files.push(`/usr/share/doc/${pkg}/copyright`);
    }
  }
  for (const file of files) {
    let text: string;
    try {
      text = (await fs.read(file)).toString('utf8').toUpperCase();
    } catch (err) {
      problems.push(`cannot read ${file}: ${(err as Error).message}`);
      continue;
    }
    const refused = REFUSED_LICENSES.find((l) => text.includes(l));
    if (refused) problems.push(`${file} names the ${refused} license`);
  }
  return problems.length
    ? { name, kind: 'license', status: 'fail', message: problems.join('; ') }
    : { name, kind: 'license', status: 'pass', message: `${files.length} copyright file(s) read` };
}
