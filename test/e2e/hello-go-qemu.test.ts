// Article 1.7 for real: BuildKit builds the Go sample for the 7 platforms of golang:1.20-alpine
// (under QEMU where the host cannot run them), pushes to a testcontainers registry, and each
// platform, run pinned by its digest, must print Hello, linux/<GOARCH>!
import { readFile } from 'node:fs/promises';
import { describe, expect, test } from 'vitest';
import { goTarget, parsePlatform } from '../../harness/platform/platform.ts';
import type { SessionReport } from '../../harness/result/model.ts';
import { allContainers, cli, harnessLeftovers, ROOT, runImages } from './helpers.ts';
import { engineNative, probeDirectly } from './support/host-facts.ts';

describe('hello-go-qemu scenario', () => {
  test('every platform passes, in the mode this host runs it, and nothing is left behind', async () => {
    const before = await allContainers();
    // What an earlier process left (a machine stopped mid-run) is not this run's: compared with the store before it.
    const imagesBefore = await runImages();
    const json = `${ROOT}reports/e2e-hello-go-qemu.json`;
    const r = await cli(['run', 'scenarios/hello-go-qemu.ts', '--json', json, '--quiet']);
    expect(r.stderr).toBe('');
    expect(r.exitCode, r.stdout).toBe(0);
    const report = JSON.parse(await readFile(json, 'utf8')) as SessionReport;

    // The mode each platform must have comes from running its probe directly on this host: taken by
    // a binfmt_misc handler, qemu; else the engine's own architecture is native, another one compat.
    const native = parsePlatform(await engineNative());
    const platforms = ['linux/amd64', 'linux/386', 'linux/arm/v6', 'linux/arm/v7', 'linux/arm64', 'linux/ppc64le', 'linux/s390x'];
    expect(report.schemaVersion).toBe(2);
    expect(report.platforms.map((p) => p.platform)).toEqual(platforms);
    for (const p of report.platforms) {
      const platform = parsePlatform(p.platform);
      const direct = await probeDirectly(platform);
      expect(direct.ran, `${p.platform} runs on this host`).toBe(true);
      const mode = direct.handler ? 'qemu' : platform.architecture === native.architecture ? 'native' : 'compat';
      expect(p.status, `${p.platform}: ${p.message}`).toBe('pass');
      expect(p.mode, p.platform).toBe(mode);
      expect(p.output).toBe(`Hello, linux/${goTarget(platform).goarch}!`);
      expect(p.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
      expect(p.buildMs).toBeGreaterThan(0);
    }
    // Each platform ran a different manifest.
    expect(new Set(report.platforms.map((p) => p.digest)).size).toBe(platforms.length);
    expect(await harnessLeftovers()).toEqual([]);
    expect(await allContainers()).toEqual(before);
    expect(await runImages()).toEqual(imagesBefore);
  });
});
