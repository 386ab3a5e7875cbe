/**
 * container-structure-test files (schemaVersion 2.0.0), read as container-structure-test reads them:
 * the same field names, the same defaults (a file existence test expects the file to exist; an
 * exit code of 0), the same required fields. A mistake is one sentence that names the file and the
 * line: an unknown field (container-structure-test's own YAML reader ignores those silently, which
 * hides typos such as `expectedOuput`), a value of the wrong type, a regular expression that does
 * not compile.
 */
import { readFile } from 'node:fs/promises';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type Pair, type YAMLMap } from 'yaml';
import { UsageError } from '../base/index.ts';
import { compileExpectation } from './patterns.ts';

export interface EnvVar {
  key: string;
  value: string;
  isRegex: boolean;
}

export interface CommandTest {
  name: string;
  setup: string[][];
  teardown: string[][];
  envVars: EnvVar[];
  exitCode: number;
  command: string;
  args: string[];
  expectedOutput: string[];
  excludedOutput: string[];
  expectedError: string[];
  excludedError: string[];
}

export interface FileExistenceTest {
  name: string;
  path: string;
  shouldExist: boolean;
  /** As Go prints a file mode: "-rwxr-xr-x", "drwxr-xr-x", "Lrwxrwxrwx". */
  permissions?: string;
  uid?: number;
  gid?: number;
  isExecutableBy?: 'any' | 'owner' | 'group' | 'other';
}

export interface FileContentTest {
  name: string;
  path: string;
  expectedContents: string[];
  excludedContents: string[];
}

export interface MetadataTest {
  envVars: EnvVar[];
  unboundEnvVars: EnvVar[];
  labels: EnvVar[];
  exposedPorts: string[];
  unexposedPorts: string[];
  volumes: string[];
  unmountedVolumes: string[];
  entrypoint?: string[];
  cmd?: string[];
  workdir?: string;
  user?: string;
}

/** container-structure-test's license test: copyright files must not name a license it refuses. */
export interface LicenseTest {
  /** Every package's /usr/share/doc/<package>/copyright. */
  debian: boolean;
  files: string[];
}

export interface ContainerRunOptions {
  user?: string;
  privileged: boolean;
  /** Names of variables passed from the harness's environment. */
  envVars: string[];
  envFile?: string;
  capabilities: string[];
  bindMounts: string[];
}

export interface StructureTestFile {
  /** The file as given, for messages. */
  file: string;
  globalEnvVars: EnvVar[];
  commandTests: CommandTest[];
  fileExistenceTests: FileExistenceTest[];
  fileContentTests: FileContentTest[];
  /** A file has at most one; several files given together have one each, named after their file. */
  metadataTests: { name: string; test: MetadataTest }[];
  licenseTests: LicenseTest[];
  containerRunOptions?: ContainerRunOptions;
}

/** Fields container-structure-test knows that this harness does not run, and why. */
const UNSUPPORTED: Record<string, string> = {
  allocateTty: 'containerRunOptions.allocateTty is not supported: a CI run has no terminal to give the container',
};

class FileReader {
  constructor(
    private readonly file: string,
    private readonly lines: LineCounter,
  ) {}

  line(node: Node | Pair | null | undefined): number {
    const offset =
      (node && 'range' in node && node.range ? node.range[0] : undefined) ??
      ((node as Pair | undefined)?.key as Node | undefined)?.range?.[0] ??
      0;
    return this.lines.linePos(offset).line;
  }

  fail(node: Node | Pair | null | undefined, what: string): never {
    throw new UsageError(`${this.file} line ${this.line(node)}: ${what}.`);
  }

  map(node: unknown, where: string, known: readonly string[]): Map<string, Node> {
    if (!isMap(node)) this.fail(node as Node, `${where} must be a mapping`);
    const out = new Map<string, Node>();
    for (const pair of (node as YAMLMap).items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (key === undefined) this.fail(pair, `${where} has a key that is not a plain name`);
      if (UNSUPPORTED[key]) this.fail(pair, UNSUPPORTED[key]);
      if (!known.includes(key)) {
        const near = known.find((k) => k.toLowerCase() === key.toLowerCase() || editDistance(k, key) <= 2);
        this.fail(pair, `unknown field "${key}" in ${where}${near ? ` (did you mean "${near}"?)` : ''}; known: ${known.join(', ')}`);
      }
      out.set(key, pair.value as Node);
    }
    return out;
  }

  string(node: Node | undefined, where: string): string {
    if (!isScalar(node) || node.value === null || typeof node.value === 'object') this.fail(node, `${where} must be a string`);
    return String(node.value);
  }

  int(node: Node | undefined, where: string): number {
    const v = isScalar(node) ? node.value : undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(node, `${where} must be a whole number`);
    return v;
  }

  bool(node: Node | undefined, where: string): boolean {
    const v = isScalar(node) ? node.value : undefined;
    if (typeof v !== 'boolean') this.fail(node, `${where} must be true or false`);
    return v;
  }

  list(node: Node | undefined, where: string): Node[] {
    if (node === undefined || (isScalar(node) && node.value === null)) return [];
    if (!isSeq(node)) this.fail(node, `${where} must be a list`);
    return node.items as Node[];
  }

  strings(node: Node | undefined, where: string): string[] {
    return this.list(node, where).map((n, i) => this.string(n, `${where}[${i}]`));
  }

  patterns(node: Node | undefined, where: string): string[] {
    return this.list(node, where).map((n, i) => {
      const p = this.string(n, `${where}[${i}]`);
      const problem = compileExpectation(p).problem;
      if (problem) this.fail(n, `${where}[${i}] is not a regular expression (${problem})`);
      return p;
    });
  }

  envVars(node: Node | undefined, where: string, needValue: boolean): EnvVar[] {
    return this.list(node, where).map((n, i) => {
      const at = `${where}[${i}]`;
      const m = this.map(n, at, ['key', 'value', 'isRegex']);
      const key = m.has('key') ? this.string(m.get('key'), `${at}.key`) : '';
      const value = m.has('value') ? this.string(m.get('value'), `${at}.value`) : '';
      if (!key) this.fail(n, `${at} needs a non-empty key`);
      if (needValue && !value) this.fail(n, `${at} needs a non-empty value`);
      const isRegex = m.has('isRegex') ? this.bool(m.get('isRegex'), `${at}.isRegex`) : false;
      if (isRegex) {
        const problem = compileExpectation(value).problem;
        if (problem) this.fail(m.get('value'), `${at}.value is not a regular expression (${problem})`);
      }
      return { key, value, isRegex };
    });
  }

  name(m: Map<string, Node>, n: Node, where: string): string {
    const name = m.has('name') ? this.string(m.get('name'), `${where}.name`) : '';
    if (!name) this.fail(n, `${where} needs a name`);
    return name;
  }
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

const TOP = [
  'schemaVersion',
  'globalEnvVars',
  'commandTests',
  'fileExistenceTests',
  'fileContentTests',
  'metadataTest',
  'licenseTests',
  'containerRunOptions',
];
const COMMAND = [
  'name',
  'setup',
  'teardown',
  'envVars',
  'exitCode',
  'command',
  'args',
  'expectedOutput',
  'excludedOutput',
  'expectedError',
  'excludedError',
];
const EXISTENCE = ['name', 'path', 'shouldExist', 'permissions', 'uid', 'gid', 'isExecutableBy'];
const CONTENT = ['name', 'path', 'expectedContents', 'excludedContents'];
const METADATA = [
  'envVars',
  'unboundEnvVars',
  'exposedPorts',
  'unexposedPorts',
  'entrypoint',
  'cmd',
  'workdir',
  'volumes',
  'unmountedVolumes',
  'labels',
  'user',
];
const RUN_OPTIONS = ['user', 'privileged', 'allocateTty', 'envVars', 'envFile', 'capabilities', 'bindMounts'];

/** Parses a container-structure-test file's text; `file` names it in messages. */
export function parseStructureTests(text: string, file: string): StructureTestFile {
  const lineCounter = new LineCounter();
  // YAML 1.1, as container-structure-test's reader (go-yaml v2): yes/no and on/off are booleans there.
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, version: '1.1' });
  const r = new FileReader(file, lineCounter);
  const problem = doc.errors[0];
  if (problem)
    throw new UsageError(`${file} line ${lineCounter.linePos(problem.pos[0]).line}: not valid YAML (${problem.message.split('\n')[0]}).`);
  if (doc.contents === null)
    throw new UsageError(`${file} is empty: a container-structure-test file needs schemaVersion: 2.0.0 and at least one test.`);
  const top = r.map(doc.contents, 'the file', TOP);
  const version = top.has('schemaVersion') ? r.string(top.get('schemaVersion'), 'schemaVersion') : undefined;
  if (version !== '2.0.0')
    r.fail(
      top.get('schemaVersion') ?? doc.contents,
      `schemaVersion must be "2.0.0" (the container-structure-test schema this harness reads), not ${version === undefined ? 'missing' : `"${version}"`}`,
    );

  const commandTests = r.list(top.get('commandTests'), 'commandTests').map((n, i): CommandTest => {
    const at = `commandTests[${i}]`;
    const m = r.map(n, at, COMMAND);
    const name = r.name(m, n, at);
    const where = `command test "${name}"`;
    const command = m.has('command') ? r.string(m.get('command'), `${where}: command`) : '';
    if (!command) r.fail(n, `${where} needs a command`);
    const commands = (key: 'setup' | 'teardown') =>
      r.list(m.get(key), `${where}: ${key}`).map((c, j) => {
        const argv = r.strings(c, `${where}: ${key}[${j}]`);
        if (argv.length === 0) r.fail(c, `${where}: ${key}[${j}] is an empty command`);
        return argv;
      });
    return {
      name,
      command,
      setup: commands('setup'),
      teardown: commands('teardown'),
      envVars: r.envVars(m.get('envVars'), `${where}: envVars`, true),
      exitCode: m.has('exitCode') ? r.int(m.get('exitCode'), `${where}: exitCode`) : 0,
      args: r.strings(m.get('args'), `${where}: args`),
      expectedOutput: r.patterns(m.get('expectedOutput'), `${where}: expectedOutput`),
      excludedOutput: r.patterns(m.get('excludedOutput'), `${where}: excludedOutput`),
      expectedError: r.patterns(m.get('expectedError'), `${where}: expectedError`),
      excludedError: r.patterns(m.get('excludedError'), `${where}: excludedError`),
    };
  });

  const fileExistenceTests = r.list(top.get('fileExistenceTests'), 'fileExistenceTests').map((n, i): FileExistenceTest => {
    const at = `fileExistenceTests[${i}]`;
    const m = r.map(n, at, EXISTENCE);
    const name = r.name(m, n, at);
    const where = `file existence test "${name}"`;
    const path = m.has('path') ? r.string(m.get('path'), `${where}: path`) : '';
    if (!path) r.fail(n, `${where} needs a path`);
    const permissions = m.has('permissions') ? r.string(m.get('permissions'), `${where}: permissions`) : undefined;
    if (permissions !== undefined && !/^[dalTLDpSugct?-]*[-r][-w][-x][-r][-w][-x][-r][-w][-x]$/.test(permissions)) {
      r.fail(
        m.get('permissions'),
        `${where}: permissions must be written as Go prints a file mode, such as "-rwxr-xr-x" or "drwxr-xr-x", not "${permissions}"`,
      );
    }
    const by = m.has('isExecutableBy') ? r.string(m.get('isExecutableBy'), `${where}: isExecutableBy`) : undefined;
    if (by !== undefined && !['any', 'owner', 'group', 'other'].includes(by))
      r.fail(m.get('isExecutableBy'), `${where}: isExecutableBy must be any, owner, group or other, not "${by}"`);
    // container-structure-test's "unset" is -1.
    const id = (key: 'uid' | 'gid') => (m.has(key) ? r.int(m.get(key), `${where}: ${key}`) : -1);
    const uid = id('uid');
    const gid = id('gid');
    return {
      name,
      path,
      shouldExist: m.has('shouldExist') ? r.bool(m.get('shouldExist'), `${where}: shouldExist`) : true,
      ...(permissions !== undefined ? { permissions } : {}),
      ...(uid >= 0 ? { uid } : {}),
      ...(gid >= 0 ? { gid } : {}),
      ...(by !== undefined ? { isExecutableBy: by as FileExistenceTest['isExecutableBy'] & string } : {}),
    };
  });

  const fileContentTests = r.list(top.get('fileContentTests'), 'fileContentTests').map((n, i): FileContentTest => {
    const at = `fileContentTests[${i}]`;
    const m = r.map(n, at, CONTENT);
    const name = r.name(m, n, at);
    const where = `file content test "${name}"`;
    const path = m.has('path') ? r.string(m.get('path'), `${where}: path`) : '';
    if (!path) r.fail(n, `${where} needs a path`);
    return {
      name,
      path,
      expectedContents: r.patterns(m.get('expectedContents'), `${where}: expectedContents`),
      excludedContents: r.patterns(m.get('excludedContents'), `${where}: excludedContents`),
    };
  });

  let metadataTest: MetadataTest | undefined;
  if (top.has('metadataTest')) {
    const m = r.map(top.get('metadataTest'), 'metadataTest', METADATA);
    const nonEmpty = (key: string) => {
      const list = r.strings(m.get(key), `metadataTest.${key}`);
      list.forEach((v, i) => {
        if (!v) r.fail(r.list(m.get(key), key)[i], `metadataTest.${key}[${i}] is empty`);
      });
      return list;
    };
    metadataTest = {
      envVars: r.envVars(m.get('envVars'), 'metadataTest.envVars', false),
      unboundEnvVars: r.envVars(m.get('unboundEnvVars'), 'metadataTest.unboundEnvVars', false),
      labels: r.envVars(m.get('labels'), 'metadataTest.labels', false),
      exposedPorts: nonEmpty('exposedPorts'),
      unexposedPorts: nonEmpty('unexposedPorts'),
      volumes: nonEmpty('volumes'),
      unmountedVolumes: nonEmpty('unmountedVolumes'),
      ...(m.has('entrypoint') ? { entrypoint: r.strings(m.get('entrypoint'), 'metadataTest.entrypoint') } : {}),
      ...(m.has('cmd') ? { cmd: r.strings(m.get('cmd'), 'metadataTest.cmd') } : {}),
      ...(m.has('workdir') ? { workdir: r.string(m.get('workdir'), 'metadataTest.workdir') } : {}),
      ...(m.has('user') ? { user: r.string(m.get('user'), 'metadataTest.user') } : {}),
    };
  }

  let containerRunOptions: ContainerRunOptions | undefined;
  if (top.has('containerRunOptions')) {
    const m = r.map(top.get('containerRunOptions'), 'containerRunOptions', RUN_OPTIONS);
    containerRunOptions = {
      privileged: m.has('privileged') ? r.bool(m.get('privileged'), 'containerRunOptions.privileged') : false,
      envVars: r.strings(m.get('envVars'), 'containerRunOptions.envVars'),
      capabilities: r.strings(m.get('capabilities'), 'containerRunOptions.capabilities'),
      bindMounts: r.strings(m.get('bindMounts'), 'containerRunOptions.bindMounts'),
      ...(m.has('user') ? { user: r.string(m.get('user'), 'containerRunOptions.user') } : {}),
      ...(m.has('envFile') ? { envFile: r.string(m.get('envFile'), 'containerRunOptions.envFile') } : {}),
    };
  }

  const parsed: StructureTestFile = {
    file,
    globalEnvVars: r.envVars(top.get('globalEnvVars'), 'globalEnvVars', true),
    commandTests,
    fileExistenceTests,
    fileContentTests,
    metadataTests: metadataTest ? [{ name: 'metadata', test: metadataTest }] : [],
    licenseTests: r.list(top.get('licenseTests'), 'licenseTests').map((n, i): LicenseTest => {
      const m = r.map(n, `licenseTests[${i}]`, ['debian', 'files']);
      return {
        debian: m.has('debian') ? r.bool(m.get('debian'), `licenseTests[${i}].debian`) : false,
        files: r.strings(m.get('files'), `licenseTests[${i}].files`),
      };
    }),
    ...(containerRunOptions ? { containerRunOptions } : {}),
  };
  const names = [...commandTests, ...fileExistenceTests, ...fileContentTests].map((t) => t.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice)
    throw new UsageError(`${file}: the test name "${twice}" is used twice; test names must be unique, each is a row of the report.`);
  if (names.length === 0 && !metadataTest && !parsed.licenseTests.length)
    throw new UsageError(`${file} has no tests: give commandTests, fileExistenceTests, fileContentTests, licenseTests or a metadataTest.`);
  return parsed;
}

/**
 * Several files given together (`--config a.yaml --config b.yaml`, as container-structure-test
 * takes them) are one set of tests; test names must stay unique, run options may come from one file only.
 */
export function mergeStructureTests(files: readonly StructureTestFile[]): StructureTestFile {
  if (files.length === 1) return files[0]!;
  const withOptions = files.filter((f) => f.containerRunOptions);
  if (withOptions.length > 1)
    throw new UsageError(`containerRunOptions are given in ${withOptions.map((f) => f.file).join(' and ')}: give them in one file only.`);
  const merged: StructureTestFile = {
    file: files.map((f) => f.file).join(', '),
    globalEnvVars: files.flatMap((f) => f.globalEnvVars),
    commandTests: files.flatMap((f) => f.commandTests),
    fileExistenceTests: files.flatMap((f) => f.fileExistenceTests),
    fileContentTests: files.flatMap((f) => f.fileContentTests),
    metadataTests: files.flatMap((f) => f.metadataTests.map((m) => ({ name: `metadata (${f.file})`, test: m.test }))),
    licenseTests: files.flatMap((f) => f.licenseTests),
    ...(withOptions[0] ? { containerRunOptions: withOptions[0].containerRunOptions! } : {}),
  };
  const seen = new Map<string, string>();
  for (const f of files) {
    for (const t of [...f.commandTests, ...f.fileExistenceTests, ...f.fileContentTests]) {
      if (seen.has(t.name))
        throw new UsageError(
          `The test name "${t.name}" is used in ${seen.get(t.name)} and ${f.file}: test names must be unique, each is a row of the report.`,
        );
      seen.set(t.name, f.file);
    }
  }
  return merged;
}

export async function readStructureTests(path: string): Promise<StructureTestFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(
      `Cannot read the container-structure-test file ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : (err as Error).message}.`,
    );
  }
  return parseStructureTests(text, path);
}
