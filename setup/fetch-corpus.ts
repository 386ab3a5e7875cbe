/**
 * Fetches the real-software corpus that the corpus suite (test/corpus/, `npm run test:corpus`)
 * reads into the state folder's `<state>/corpus/` (test/support/corpus-cache.ts), where clean
 * clones find it: npm's release packages, each refused unless its tarball has the digest pinned in
 * test/support/npm-binaries.ts; the corpus's root filesystems (test/support/corpus.ts); Debian's
 * packages (hello, libc6, busybox-static, golang-1.24-go), checked by apt against the suites'
 * signed lists; samples/hello-go built by the host's Go for every platform.
 *
 *   node bin/run-ts.mjs setup/fetch-corpus.ts [--brief]
 *
 * --brief (the set-up's): only what took a while or failed, and the last line.
 *
 * Idempotent: what is there is only checked against its digests (a second or two); what is
 * missing, or fails its check, is fetched or built again. It takes the same locks as the suite, so
 * this and a test run never fetch one thing twice at once, and the suite fetches by itself whatever
 * this did not. Run by setup/prepare-host.sh (step 2a). Every part is tried; exit 1 when one failed.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withHeartbeat } from './status.ts';
import { corpusDir } from '../test/support/corpus-cache.ts';
import { debianDynamicCorpus, goCorpus, rustCorpus } from '../test/support/corpus.ts';
import { debianHellos, debianLibcs, LIBC_ARCHES } from '../test/support/debian-programs.ts';
import { debianGos, GO_ARCHES } from '../test/support/go-toolchains.ts';
import { npmPackage, pinnedPackages } from '../test/support/npm-binaries.ts';
import { debianBusybox, helloAmd64V3, helloForEveryPlatform } from '../test/support/real-binaries.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const brief = process.argv.includes('--brief');
const say = (line: string) => console.log(`[fetch-corpus] ${line}`);

const pending = new Set<string>();
const failed: string[] = [];

/** Runs one part, reporting its time (or its error); never throws. */
async function part(name: string, fn: () => Promise<string>): Promise<void> {
  const started = Date.now();
  pending.add(name);
  try {
    const what = await fn();
    const seconds = (Date.now() - started) / 1000;
    if (!brief || seconds >= 5) say(`${name}: ${what} (${seconds.toFixed(1)} s)`);
  } catch (e) {
    failed.push(name);
    say(`${name}: FAILED: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    pending.delete(name);
  }
}

const started = Date.now();
if (!brief) say(`corpus folder: ${corpusDir()}`);
await withHeartbeat(
  (_now, seconds) => `[fetch-corpus] still fetching (${seconds} s): ${[...pending].join(', ')}`,
  () =>
    Promise.all([
      // npm: the packages first (the esbuild and sentry-cli trees are made of them), then the trees.
      (async () => {
        const pins = pinnedPackages();
        await part('npm packages', async () => {
          await Promise.all(pins.map(([pkg, version]) => npmPackage(pkg, version)));
          return `${pins.length}, each with its pinned digest`;
        });
        await Promise.all([
          part('esbuild trees', async () => `${(await goCorpus()).length} platforms`),
          part('sentry-cli trees', async () => `${(await rustCorpus()).length} platforms`),
        ]);
      })(),
      // Debian: one after the other (one apt state at a time).
      (async () => {
        await part('Debian hello trees', async () => `${(await debianDynamicCorpus()).length} platforms`);
        await part('Debian packages', async () => {
          const hellos = await debianHellos();
          await debianLibcs(LIBC_ARCHES);
          for (const arch of ['amd64', 'arm64', 'armel', 'armhf']) await debianBusybox(arch);
          await debianGos(GO_ARCHES);
          return `hello of ${hellos.length} architectures, libc6 and busybox-static, golang-1.24-go of ${GO_ARCHES.length}`;
        });
      })(),
      // Go: samples/hello-go for every known platform, and the GOAMD64=v3 build.
      part('Go builds', async () => {
        const hellos = await helloForEveryPlatform();
        await helloAmd64V3();
        return `hello for ${hellos.length} platforms and for amd64/v3`;
      }),
    ]),
);

if (
  await stat(join(ROOT, 'test/.cache')).then(
    () => true,
    () => false,
  )
) {
  say('test/.cache/ (where the corpus was kept before) is no longer used: rm -rf test/.cache frees its space.');
}
const seconds = ((Date.now() - started) / 1000).toFixed(1);
if (failed.length) {
  say(`incomplete after ${seconds} s: ${failed.join(', ')} failed (the corpus suite tries again when it runs).`);
  process.exit(1);
}
say(`corpus ready in ${corpusDir()} (${seconds} s)`);
