/**
 * Release binaries other people built, as npm ships them: one platform package per Linux
 * architecture (esbuild's @esbuild/linux-*, lefthook-linux-*). Each tarball is fetched once with
 * `npm pack` into test/.cache/npm (gitignored) and unpacked beside it; later runs only read the files.
 */
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const NPM_CACHE = join(ROOT, 'test/.cache/npm');

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

function slug(pkg: string, version: string): string {
  return `${pkg.replace(/^@/, '').replace('/', '-')}-${version}`;
}

/** The folder a package version is unpacked in (its tarball's package/ folder), fetched on first use. */
export async function npmPackage(pkg: string, version: string): Promise<string> {
  const dir = join(NPM_CACHE, slug(pkg, version));
  if (await exists(join(dir, '.complete'))) return join(dir, 'package');
  await mkdir(NPM_CACHE, { recursive: true });
  const { stdout } = await execa('npm', ['pack', `${pkg}@${version}`, '--json', '--pack-destination', NPM_CACHE], { cwd: NPM_CACHE });
  const tarball = join(NPM_CACHE, (JSON.parse(stdout) as Array<{ filename: string }>)[0]!.filename);
  // Unpacked into a temporary folder and renamed: a run stopped half-way leaves no half a package.
  const partial = `${dir}.partial`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  await execa('tar', ['xzf', tarball, '-C', partial]);
  await execa('touch', [join(partial, '.complete')]);
  await rm(dir, { recursive: true, force: true });
  await rename(partial, dir);
  await rm(tarball, { force: true });
  return join(dir, 'package');
}

/** One file of a package version, e.g. npmFile('@esbuild/linux-arm', '0.28.2', 'bin/esbuild'). */
export async function npmFile(pkg: string, version: string, file: string): Promise<string> {
  return join(await npmPackage(pkg, version), file);
}
