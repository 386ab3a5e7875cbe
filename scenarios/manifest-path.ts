/**
 * Article sections 2.4 to 2.7: a multi-platform image the docker manifest way. The echo-platform
 * sample is built with one `docker build` per platform (the host's own by default, the others with
 * --platform), each pushed as its own repository and run by itself; then `docker manifest create`
 * joins them into a list, `docker manifest push --insecure` publishes it, and every platform is
 * run through the list and checked like any image (index, config, binary, uname -m).
 */
import { classify, defineScenario, formatPlatform, parsePlatform, samePlatform, unameMachine } from 'multiarch-harness';
import { ALPINE_PLATFORMS } from './support/upstream-platforms.ts';
import { buildAndPushEcho, ECHO_CONTEXT } from './support/echo-platform.ts';

/** alpine:latest's platforms: every one the FROM alpine sample can be built for. */
const PLATFORMS = ALPINE_PLATFORMS.map(parsePlatform);
const WARNING =
  /WARNING: The requested image's platform \(([^)]+)\) does not match the detected host platform \(([^)]+)\) and no specific platform was requested/;

export default defineScenario({
  kind: 'steps',
  name: 'manifest-path',
  title: 'docker build per platform, docker manifest create and push',
  reference: { name: 'the article', part: '2.4-2.7' },
  platforms: ALPINE_PLATFORMS,
  async steps(t) {
    const registry = (await t.registry()).address;
    const native = t.probe.native;
    const foreign = PLATFORMS.find((p) => p.architecture === (native.architecture === 'arm64' ? 'amd64' : 'arm64'))!;
    const refs = new Map<string, string>();

    await t.step('2.5', `build the host's own platform (${formatPlatform(native)}) with plain docker build, run it, push it`, async (s) => {
      s.reference(
        'On an Apple M2 `docker build -t jianghushinian/echo-platform-arm64 .` builds arm64; running it prints `... aarch64 Linux`; `docker push` prints the digest.',
      );
      const ref = await buildAndPushEcho(s, t, registry, native);
      refs.set(formatPlatform(native), ref);
      const run = await s.must(['run', '--rm', ref]);
      s.check(!WARNING.test(run.stderr), `running the host's own platform must not warn, got: ${run.stderr.trim()}`);
      const want = classify(native, t.probe).expectedUname;
      s.check(unameMachine(run.stdout) === want, `uname -a should end in ${want}, got ${run.stdout.trim()}`);
      s.saw(run.stdout.trim());
      if (native.architecture !== 'arm64')
        s.differs(
          `this host is ${formatPlatform(native)}, not the article's Apple M2 (arm64): its default build is ${formatPlatform(native)}, so 2.5 and 2.6 swap the roles of arm64 and amd64.`,
        );
    });

    await t.step('2.6', `build ${formatPlatform(foreign)} with docker build --platform, push it, run it without --platform`, async (s) => {
      s.reference(
        '`docker build --platform=linux/amd64` on the M2; running a foreign-platform image prints "WARNING: The requested image\'s platform (...) does not match the detected host platform (...) and no specific platform was requested", then its uname.',
      );
      const ref = await buildAndPushEcho(s, t, registry, foreign);
      refs.set(formatPlatform(foreign), ref);
      const run = await s.must(['run', '--rm', ref]);
      const m = s.checkMatch(run.stderr, WARNING, 'the foreign-platform warning');
      if (m) {
        s.check(samePlatform(parsePlatform(m[1]!), foreign), `the warning should name ${formatPlatform(foreign)}, named ${m[1]}`);
        s.saw(`WARNING names image platform ${m[1]} and host platform ${m[2]}`);
        if (m[2] !== formatPlatform(native))
          s.differs(
            `the engine reports the host platform as ${m[2]}: it adds the CPU's amd64 microarchitecture level (the article's engine printed linux/amd64 or linux/arm64/v8).`,
          );
      }
      const want = classify(foreign, t.probe).expectedUname;
      s.check(
        unameMachine(run.stdout) === want,
        `uname -a should end in ${want} (${classify(foreign, t.probe).mode}), got ${run.stdout.trim()}`,
      );
      s.saw(run.stdout.trim());
      const again = await s.must(['run', '--rm', refs.get(formatPlatform(native))!]);
      s.check(!WARNING.test(again.stderr), "running the host's own platform again must not warn");
    });

    await t.step('2.6', 'the other platforms of alpine:latest: one docker build --platform each, pushed, each run by itself', async (s) => {
      for (const p of PLATFORMS.filter((x) => !refs.has(formatPlatform(x)))) {
        const ref = await buildAndPushEcho(s, t, registry, p);
        refs.set(formatPlatform(p), ref);
        const exec = classify(p, t.probe);
        const run = await s.must(['run', '--rm', '--platform', formatPlatform(p), ref]);
        const got = unameMachine(run.stdout);
        s.check(got === exec.expectedUname, `${formatPlatform(p)}: uname -m should be ${exec.expectedUname} (${exec.mode}), got ${got}`);
        s.saw(`${formatPlatform(p)} (${exec.mode}): ${got}`);
      }
    });

    const list = `${registry}/jianghushinian/echo-platform`;
    await t.step('2.7', 'docker manifest create fails with "no such manifest" for an image that was never pushed', async (s) => {
      s.reference('"make sure every image was pushed to Docker Hub first, or the error is no such manifest"');
      t.trackManifestList(`${registry}/jianghushinian/never-pushed-list`);
      const r = await s.docker([
        'manifest',
        'create',
        '--insecure',
        `${registry}/jianghushinian/never-pushed-list`,
        `${registry}/jianghushinian/echo-platform-never-pushed`,
      ]);
      s.check(r.exitCode !== 0, 'creating a list of an image that was never pushed must fail');
      s.checkMatch(r.stderr, /no such manifest: .*echo-platform-never-pushed:latest/, 'the error');
      s.saw(r.stderr.trim());
      const insecureMissing = await s.docker([
        'manifest',
        'create',
        `${registry}/jianghushinian/never-pushed-list`,
        refs.get(formatPlatform(native))!,
      ]);
      s.checkMatch(insecureMissing.stderr, /no such manifest/, 'without --insecure, a pushed image on a plain-HTTP registry');
      s.differs(
        'the run\'s registry speaks plain HTTP on 127.0.0.1, so every docker manifest command needs --insecure; without it a pushed image also reports "no such manifest", which hides the cause. The negative test above passes --insecure, so it fails only because the image is absent.',
      );
    });

    await t.step('2.7', 'a default (attested) build cannot join a manifest list on this engine', async (s) => {
      const ref = `${registry}/jianghushinian/echo-platform-attested`;
      t.ctx.trackImage(ref);
      t.trackManifestList(`${registry}/jianghushinian/attested-list`);
      await s.must(['build', '-t', ref, ECHO_CONTEXT]);
      await s.must(['push', ref]);
      const r = await s.docker(['manifest', 'create', '--insecure', `${registry}/jianghushinian/attested-list`, ref]);
      s.check(r.exitCode !== 0, 'docker manifest create of an attested image should fail');
      s.checkMatch(r.stderr, /is a manifest list/, 'the error');
      s.saw(r.stderr.trim());
      s.differs(
        "with the containerd image store BuildKit attaches a provenance attestation by default, so a pushed tag is an index (image + attestation) and docker manifest create refuses it; the per-platform builds here set BUILDX_NO_DEFAULT_ATTESTATIONS=1 (or pass --provenance=false). The article's engine 20.10 made no attestations.",
      );
    });

    await t.step('2.7', 'docker manifest create and docker manifest push --insecure the real list', async (s) => {
      s.reference(
        '`docker manifest create jianghushinian/echo-platform ...-arm64 ...-amd64` prints "Created manifest list docker.io/jianghushinian/echo-platform:latest"; `docker manifest push` prints "Pushed ref ... with digest" per image and the list\'s digest.',
      );
      t.trackManifestList(list);
      t.ctx.trackImage(list); // `docker run --rm <list>` below pulls it into the engine's store
      const created = await s.must(['manifest', 'create', '--insecure', list, ...PLATFORMS.map((p) => refs.get(formatPlatform(p))!)]);
      s.checkMatch(created.stdout, new RegExp(`Created manifest list ${list.replace(/[.]/g, '\\.')}:latest`), 'create');
      const pushed = await s.must(['manifest', 'push', '--insecure', list]);
      const pushedRefs = pushed.stdout.match(/Pushed ref \S+ with digest: sha256:[a-f0-9]{64}/g) ?? [];
      s.check(pushedRefs.length === PLATFORMS.length, `push should report ${PLATFORMS.length} pushed refs, reported ${pushedRefs.length}`);
      s.checkMatch(pushed.stdout.trim().split('\n').at(-1) ?? '', /^sha256:[a-f0-9]{64}$/, 'the list digest on the last line');
      s.saw(`list digest ${pushed.stdout.trim().split('\n').at(-1)}; ${pushedRefs.length} platform manifests`);
      const plain = await s.must(['run', '--rm', list]);
      s.check(!WARNING.test(plain.stderr), "running the list without --platform picks the host's platform, with no warning");
      s.check(
        unameMachine(plain.stdout) === classify(native, t.probe).expectedUname,
        `the list run without --platform should be ${formatPlatform(native)}, got ${plain.stdout.trim()}`,
      );
      s.saw(`docker run --rm ${list}: ${plain.stdout.trim()}`);
    });

    await t.step(
      '2.7',
      'every platform run through the list, pinned by digest, and checked (index, config, binary, uname -m)',
      async (s) => {
        s.result.commands.push(`multiarch-harness verify ${list} --expect-uname`);
        const results = await t.verify(list, { platforms: PLATFORMS, expect: { kind: 'uname' } });
        for (const r of results) {
          s.check(r.status === 'pass', `${r.platform}: ${r.message ?? ''}`);
          s.saw(`${r.platform} (${r.mode}): ${r.output.split(' ').slice(-2, -1)[0] ?? r.output}`);
        }
      },
    );
  },
});
