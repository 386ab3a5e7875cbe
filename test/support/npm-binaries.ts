/**
 * Release binaries other people built, as npm ships them: one platform package per Linux
 * architecture (esbuild's @esbuild/linux-*, lefthook-linux-*, @sentry/cli-linux-*, sharp's addon).
 * Only the versions pinned below are fetched, each with `npm pack` and refused unless the tarball's
 * digest is the one pinned here (the registry's `dist.integrity` when the pin was written), then
 * unpacked into `<state>/corpus/npm/` (corpus-cache.ts) with a marker, fetched.json, recording that
 * digest and what the package holds. A later read takes the package as it is when the marker's
 * digest is still the pin and the files are still what the marker says; otherwise it is fetched again.
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import pLimit from 'p-limit';
import {
  contentDigests,
  corpusDir,
  integrityOf,
  matchesIntegrity,
  readMarker,
  sameContents,
  tempFolder,
  withLock,
  writeMarker,
} from './corpus-cache.ts';

/**
 * Every npm package version the corpus suite reads, with the SRI digest of its tarball as the
 * registry published it (`npm view <package>@<version> dist.integrity`). A tarball whose digest
 * differs (republished, tampered with, a mirror serving something else) is refused, never taken.
 * To add a version: add its line here with that command's answer.
 */
export const NPM_PINS: Readonly<Record<string, string>> = {
  // corpus.ts (goCorpus) and go-buildinfo.test.ts: esbuild 0.28.2, Go 1.26.5, no build info blob.
  '@esbuild/linux-x64@0.28.2': 'sha512-4xTZr1FUmSoQW4XIWmit3tzQrUTZM+N3P0XV8xROKYF50XfI7xeO90+1bZvNwxIufQ9hDQVRJH5YhgPVF8A/HQ==',
  '@esbuild/linux-ia32@0.28.2': 'sha512-CYbnj78HsIeA+DhgUKgFCfvNsTHFhMMrinUrMZpDXJXKN8T3XViTZ/+wtHeVxEWY8ewSzTFN+nRmSwO2tZaLUQ==',
  '@esbuild/linux-arm64@0.28.2': 'sha512-pW4AC0P3it8c7do9MVM4p51FzHzdM/TZrerurgRcHJ2WTa1VQ1CIq18xncfpBJw4ojkiZZrKW2yIBWBP92j6Ug==',
  '@esbuild/linux-arm@0.28.2': 'sha512-XlDnu2q5yoqems+xay6wSAcg9DDD7K9RLKZEBOMZm3ckNpJBvOX20tSfby8KfrrhINDyv9V2YVZKY/SpoGJI8w==',
  '@esbuild/linux-ppc64@0.28.2': 'sha512-CAXl+Dtd9UUuJd8pKKdwh6MLm3MUMiqMPmhZ3tTSXPqfyQ3vDl6R5hZdZ/kYojK4ofXtdfSv1tFq8XzWx3heNQ==',
  '@esbuild/linux-s390x@0.28.2': 'sha512-3H1weTYZPxt/WOhByszQZybS9w5lKzUn1FDMsgEChbHWQwHYQQRfBxgCcZvPhjHfKyJjIievvMmEUawJrdY9Dg==',
  '@esbuild/linux-riscv64@0.28.2': 'sha512-GeXCej4IQtU1B+QlDV8W/RRvbzI3O/Stss+/bCXv4lZls5WGRtu2a+3JkA3i4qIUlMXpcHebWpF8AkJhATowuA==',
  '@esbuild/linux-mips64el@0.28.2': 'sha512-ZVykbDyk7519VwiNb9Lcj9m8XM6v5V9uKPvrEMkkEedVewf+0itkhahp4HDpgERXhwLRpWFypsGbG/J8s0QjJA==',
  '@esbuild/linux-loong64@0.28.2': 'sha512-buwkd8nsph4R+ajRvw0qM5Hja/TXQow3ptzWO2EbG/cqcIkHloRrdlBtQlshyYGTNFvfkfJ5tpPLVkY4DtsPfQ==',
  // corpus.ts (rustCorpus): Sentry's CLI, Rust, static musl.
  '@sentry/cli-linux-x64@3.8.0': 'sha512-jMXbyLIuGFW1uuFSByy54edkHPIaiCVyymKW0ia+lgA6nfFEH4Y1Z+bxXyK6BBr8TD6/P5ROqiPivg0oFEDciQ==',
  '@sentry/cli-linux-i686@3.8.0': 'sha512-ckQ5XeY+D5ISyFKrGnmYt5xarqQ1VHPMBJQnwnG0Hb1V116efAIusK5NqoHMP0o5Bu17BRlaxYA1l81HmvKqFQ==',
  '@sentry/cli-linux-arm64@3.8.0': 'sha512-CS43j4vbLJBoB4c5MRZS7/nCf62yCnPIMQj7N+ZC50ze6EM8efEy4jq1ZZjz4G9u6AKuo6sntuaOlOGdZL5l6g==',
  '@sentry/cli-linux-arm@3.8.0': 'sha512-wcpKNI22usaf7ZIHLaWofHVN5wOlmTdVjnQO5pYqDZNHRvhbO7HwZfLghR/p7aLuhETtePIFhcgjWlyU4uvWZQ==',
  // go-buildinfo.test.ts: Go 1.17 to 1.27.
  'esbuild-linux-64@0.14.10': 'sha512-K+gCQz2oLIIBI8ZM77e9sYD5/DwEpeYCrOQ2SYXx+R4OU2CT9QjJDi4/OpE7ko4AcYMlMW7qrOCuLSgAlEj4Wg==',
  'esbuild-linux-arm@0.14.10': 'sha512-BYa60dZ/KPmNKYxtHa3LSEdfKWHcm/RzP0MjB4AeBPhjS0D6/okhaBesZIY9kVIGDyeenKsJNOmnVt4+dhNnvQ==',
  'esbuild-linux-s390x@0.14.10': 'sha512-knArKKZm0ypIYWOWyOT7+accVwbVV1LZnl2FWWy05u9Tyv5oqJ2F5+X2Vqe/gqd61enJXQWqoufXopvG3zULOg==',
  'esbuild-linux-32@0.14.30': 'sha512-liIONVT4F2kZmOMwtwASqZ8WkIjb5HHBR9HUffdHiuotSTF3CyZO+EJf+Og+SYYuuVIvt0qHNSFjBA/iSESteQ==',
  'esbuild-linux-mips64le@0.14.30': 'sha512-fLUzTFZ7uknC0aPTk7/lM7NmaG/9ZqE3SaHEphcaM009SZK/mDOvZugWi1ss6WGNhk13dUrhkfHcc4FSb9hYhg==',
  '@esbuild/linux-ppc64@0.16.17': 'sha512-dzS678gYD1lJsW73zrFhDApLVdM3cUF2MvAa1D8K8KtcSKdLBPP4zZSLy6LFZ0jYqQdQ29bjAHJDgz0rVbLB3g==',
  '@esbuild/linux-riscv64@0.17.19': 'sha512-FC3nUAWhvFoutlhAkgHf8f5HwFWUL6bYdvLc/TTuxKlvLi3+pPzdZiFKSWz/PF30TB1K19SuCxDTI5KcqASJqA==',
  'lefthook-linux-arm64@1.5.0': 'sha512-gPB+Tta9xt3dDcB539uSHvKAE3bcxmWbkkQpW3NGlKJOoSLbtHEFd9ZJlNXTJryNxf3zR0uPZj3z4YvfsQUeug==',
  '@esbuild/linux-loong64@0.23.1': 'sha512-Vx09LzEoBa5zDnieH8LSMRToj7ir/Jeq0Gu6qJ/1GcBq9GkfoEAoXvLiW1U9J1qE/Y/Oyaq33w5p2ZWrNNHNEw==',
  '@esbuild/linux-arm@0.26.0': 'sha512-JY8NyU31SyRmRpuc5W8PQarAx4TvuYbyxbPIpHAZdr/0g4iBr8KwQBS4kiiamGl2f42BBecHusYCsyxi7Kn8UQ==',
  '@esbuild/linux-s390x@0.26.0': 'sha512-1D6vi6lfI18aNT1aTf2HV+RIlm6fxtlAp8eOJ4mmnbYmZ4boz8zYDar86sIYNh0wmiLJEbW/EocaKAX6Yso2fw==',
  '@esbuild/linux-ia32@0.26.0': 'sha512-XITaGqGVLgk8WOHw8We9Z1L0lbLFip8LyQzKYFKO4zFo1PFaaSKsbNjvkb7O8kEXytmSGRkYpE8LLVpPJpsSlw==',
  'lefthook-linux-x64@1.13.0': 'sha512-5JUhlDaYqt9vBTSQ5gkA00+0ktUSRyL60AhZID6OR4ML39SidzMTu/GrgHscPT4sD3TfSODEdGZ28sNKdLg6jA==',
  'lefthook-linux-arm64@2.1.0': 'sha512-KM70eV1tsEib1/tk+3TFxIdH84EaYlIg5KTQWAg+LB1N23nTQ7lL4Dnh1je6f6KW4tf21nmoMUqsh0xvMkQk8Q==',
  'lefthook-linux-x64@2.1.17': 'sha512-NyWgJyhmkPspgnhNSvkusKNjCyOOnwiE/IFKkAFkMNfTlst0Dv3UVNxe0e/DlgsGbbFLVieFKhwd4twI2RKoOQ==',
  'lefthook-linux-arm64@2.1.17': 'sha512-q01FgqafSJo4WQ6rHj4J1AUe8WLlReZ4Sx5qIjdXMjFuQsbLKlaWUWnJMmZkQQwsi195zDGtOycU44c0vozPiw==',
  'lefthook-linux-x64@2.2.2': 'sha512-N/OlQyAhcU6RAXjrwFxLsh70sn96rBoi+XkuLJ8CVBkk9Ci3VDXQayDZTNz5B1xML8RwoMcV8Wblniy1xFOmSA==',
  '@esbuild/linux-x64@0.27.7': 'sha512-hzznmADPt+OmsYzw1EE33ccA+HPdIqiCRq7cQeL1Jlq2gb1+OyWBkMCrYGBJ+sxVzve2ZJEVeePbLM2iEIZSxA==',
  // elf.test.ts: sharp's Node addon (DT_RPATH, DT_SONAME).
  '@img/sharp-linux-x64@0.35.5': 'sha512-SxFtLTeJInhAA9Q836kux2vZNeOBQEx658qvbboZScr0wIARym3IcGmW7KpVD5sbVg0Ojy+udFQdayYIZyoNog==',
};

/** The pinned digest of `pkg@version`; an unpinned version is refused (nothing unpinned is fetched). */
export function npmPin(pkg: string, version: string): string {
  const pin = NPM_PINS[`${pkg}@${version}`];
  if (!pin)
    throw new Error(
      `${pkg}@${version} is not pinned in test/support/npm-binaries.ts (NPM_PINS): add it with the digest \`npm view ${pkg}@${version} dist.integrity\` prints.`,
    );
  return pin;
}

/** Every pinned package, as [package, version] (the set-up fetches them all). */
export function pinnedPackages(): Array<[pkg: string, version: string]> {
  return Object.keys(NPM_PINS).map((spec) => {
    const at = spec.lastIndexOf('@');
    return [spec.slice(0, at), spec.slice(at + 1)];
  });
}

interface Fetched {
  package: string;
  version: string;
  /** The tarball's digest, checked against the pin when it was fetched. */
  integrity: string;
  /** What package/ held when it was unpacked (contentDigests). */
  contents: Record<string, string>;
  fetchedAt: string;
}

const MARKER = 'fetched.json';
/** At most this many `npm pack` at once. */
const npmPack = pLimit(6);
/** Each package once per process: its package/ folder, verified. */
const ready = new Map<string, Promise<string>>();

function slug(pkg: string, version: string): string {
  return `${pkg.replace('/', '+')}@${version}`;
}

async function verified(dir: string, pin: string): Promise<boolean> {
  const marker = await readMarker<Fetched>(join(dir, MARKER));
  return marker?.integrity === pin && (await sameContents(join(dir, 'package'), marker.contents));
}

/** The folder a pinned package version is unpacked in (its tarball's package/ folder), fetched on first use. */
export function npmPackage(pkg: string, version: string): Promise<string> {
  const key = slug(pkg, version);
  let done = ready.get(key);
  if (!done) {
    done = ensurePackage(pkg, version);
    ready.set(key, done);
    done.catch(() => ready.delete(key));
  }
  return done;
}

async function ensurePackage(pkg: string, version: string): Promise<string> {
  const pin = npmPin(pkg, version);
  const name = slug(pkg, version);
  const dir = join(corpusDir(), 'npm', name);
  if (await verified(dir, pin)) return join(dir, 'package');
  return withLock(`npm-${name}`, async () => {
    if (await verified(dir, pin)) return join(dir, 'package'); // fetched by another process meanwhile
    const work = await tempFolder(`npm-${name}`);
    try {
      const { stdout } = await npmPack(() =>
        execa('npm', ['pack', `${pkg}@${version}`, '--json', '--pack-destination', work], { cwd: work }),
      );
      const tarball = join(work, (JSON.parse(stdout) as Array<{ filename: string }>)[0]!.filename);
      if (!(await matchesIntegrity(tarball, pin))) {
        throw new Error(
          `${pkg}@${version}: refused, the tarball npm fetched is ${await integrityOf(tarball)}, but test/support/npm-binaries.ts pins ${pin}.`,
        );
      }
      const unpacked = join(work, name);
      await mkdir(unpacked, { recursive: true });
      await execa('tar', ['xzf', tarball, '-C', unpacked]);
      const marker: Fetched = {
        package: pkg,
        version,
        integrity: pin,
        contents: await contentDigests(join(unpacked, 'package')),
        fetchedAt: new Date().toISOString(),
      };
      await writeMarker(join(unpacked, MARKER), marker);
      // Renamed into place whole: a run stopped half-way leaves no half a package.
      await mkdir(join(corpusDir(), 'npm'), { recursive: true });
      await rm(dir, { recursive: true, force: true });
      await rename(unpacked, dir);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    return join(dir, 'package');
  });
}

/** One file of a pinned package version, e.g. npmFile('@esbuild/linux-arm', '0.28.2', 'bin/esbuild'). */
export async function npmFile(pkg: string, version: string, file: string): Promise<string> {
  return join(await npmPackage(pkg, version), file);
}
