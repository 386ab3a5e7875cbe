// Article 1.7 for real: BuildKit builds the Go sample for the 7 platforms of golang:1.20-alpine
// (under QEMU where the host cannot run them), pushes to a testcontainers registry, and each
// platform, run pinned by its digest, must print Hello, linux/<GOARCH>!
import { readFile } from 'node:fs/promises';
import { describe, expect, test } from 'vitest';
import { classify } from '../../harness/platform/execution-mode.ts';
import { probeHost } from '../../harness/host/probe.ts';
import { formatPlatform, goTarget, parsePlatform } from '../../harness/platform/platform.ts';
import type { RunReport } from '../../harness/result/model.ts';
import { allContainers, cli, harnessLeftovers, ROOT, runImages } from './helpers.ts';

describe('hello-go-qemu scenario', () => {
  test('every platform passes, in the mode this host runs it, and nothing is left behind', async () => {
    const before = await allContainers();
    const json = `${ROOT}reports/e2e-hello-go-qemu.json`;
    const r = await cli(['run', 'scenarios/hello-go-qemu.ts', '--json', json, '--quiet']);
    expect(r.stderr).toBe('');
    expect(r.exitCode, r.stdout).toBe(0);
    const report = JSON.parse(await readFile(json, 'utf8')) as RunReport;

    const probe = await probeHost();
    const platforms = ['linux/amd64', 'linux/386', 'linux/arm/v6', 'linux/arm/v7', 'linux/arm64', 'linux/ppc64le', 'linux/s390x'];
    expect(report.schemaVersion).toBe(1);
    expect(report.platforms.map((p) => p.platform)).toEqual(platforms);
    for (const p of report.platforms) {
      const platform = parsePlatform(p.platform);
      expect(p.status, `${p.platform}: ${p.message}`).toBe('pass');
      expect(p.mode).toBe(classify(platform, probe).mode);
      expect(p.output).toBe(`Hello, linux/${goTarget(platform).goarch}!`);
      expect(p.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
      expect(p.buildMs).toBeGreaterThan(0);
    }
    if (formatPlatform(probe.native) === 'linux/amd64') {
      const modes = Object.fromEntries(report.platforms.map((p) => [p.platform, p.mode]));
      expect(modes).toEqual({
        'linux/amd64': 'native', 'linux/386': 'compat', 'linux/arm/v6': 'qemu', 'linux/arm/v7': 'qemu',
        'linux/arm64': 'qemu', 'linux/ppc64le': 'qemu', 'linux/s390x': 'qemu',
      });
    }
    // Each platform ran a different manifest.
    expect(new Set(report.platforms.map((p) => p.digest)).size).toBe(platforms.length);
    expect(await harnessLeftovers()).toEqual([]);
    expect(await allContainers()).toEqual(before);
    expect(await runImages()).toEqual([]);
  });
});
