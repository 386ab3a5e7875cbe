/**
 * Benchmark: how much slower a platform runs under QEMU than natively on this host, for the two
 * things a harness run does per platform: start a container, and do CPU work in it. Prints ratios
 * (emulated / native), which justify execution-mode.ts's QEMU_TIMEOUT_FACTOR. Not a test: nothing
 * here passes or fails.
 *
 *   npm run bench            (needs a prepared host: the alpine image, the QEMU handlers)
 */
import { $ } from 'zx';
import { classify, QEMU_TIMEOUT_FACTOR } from '../harness/platform/execution-mode.ts';
import { probeHost } from '../harness/host/probe.ts';
import { formatPlatform, parsePlatform } from '../harness/platform/platform.ts';

$.verbose = false;
const REPEATS = 3;
const IMAGE = 'alpine:latest';
// CPU work: busybox's sha256sum over 64 MiB of zeros (about 0.2 s natively).
const WORK = 'dd if=/dev/zero bs=1M count=64 2>/dev/null | sha256sum >/dev/null';

async function median(fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

const probe = await probeHost();
const native = formatPlatform(probe.native);
const platforms = ['linux/amd64', 'linux/386', 'linux/arm64', 'linux/arm/v7', 'linux/ppc64le', 'linux/s390x', 'linux/riscv64'].map(
  parsePlatform,
);
for (const p of platforms) await $`docker pull -q --platform ${formatPlatform(p)} ${IMAGE}`;

const baseStart = await median(() => $`docker run --rm --platform ${native} ${IMAGE} true`);
const baseWork = await median(() => $`docker run --rm --platform ${native} ${IMAGE} sh -c ${WORK}`);
console.log(`native ${native}: container start ${baseStart.toFixed(0)} ms, start + work ${baseWork.toFixed(0)} ms (median of ${REPEATS})`);
console.log('platform        mode     start ratio  work ratio');
let worst = 0;
for (const p of platforms) {
  const mode = classify(p, probe).mode;
  if (mode === 'unavailable') {
    console.log(`${formatPlatform(p).padEnd(15)} ${mode}`);
    continue;
  }
  const start = await median(() => $`docker run --rm --platform ${formatPlatform(p)} ${IMAGE} true`);
  const work = await median(() => $`docker run --rm --platform ${formatPlatform(p)} ${IMAGE} sh -c ${WORK}`);
  const workRatio = (work - start) / Math.max(1, baseWork - baseStart);
  if (mode === 'qemu') worst = Math.max(worst, workRatio);
  console.log(
    `${formatPlatform(p).padEnd(15)} ${mode.padEnd(8)} ${(start / baseStart).toFixed(2).padStart(11)}  ${workRatio.toFixed(2).padStart(10)}`,
  );
}
console.log(
  `worst QEMU work ratio ${worst.toFixed(1)} vs timeout factor ${QEMU_TIMEOUT_FACTOR}: headroom ${(QEMU_TIMEOUT_FACTOR / Math.max(worst, 0.01)).toFixed(2)}x`,
);
