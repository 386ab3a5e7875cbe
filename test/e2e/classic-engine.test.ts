// An engine with the classic image store (the default on hosted CI runners): its default builder
// cannot build several platforms into one image, so a build scenario there, with no option given,
// runs on a docker-container builder the harness creates for the run and removes afterwards.
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { findClassicEngine } from '../../scenarios/support/classic-engine.ts';
import { SESSION_LABEL } from '../../harness/session/session.ts';
import type { SessionReport } from '../../harness/result/model.ts';
import { cli, harnessLeftovers, ROOT } from './helpers.ts';

describe('a build scenario on the classic-store engine', () => {
  test('passes with no option, on a builder made for the run and gone afterwards', async () => {
    const classic = await findClassicEngine();
    expect(classic.state, 'setup/prepare-host.sh starts the classic-store engine').toBe('ready');
    const env = { DOCKER_HOST: classic.host };
    const json = `${ROOT}reports/e2e-classic-platform-args.json`;
    const r = await cli(['run', 'scenarios/platform-args.ts', '--platforms', 'linux/amd64,linux/arm64', '--json', json, '--quiet'], env);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    const report = JSON.parse(await readFile(json, 'utf8')) as SessionReport;
    expect(report.host.imageStore).toBe('classic');
    expect(report.platforms.map((p) => [p.platform, p.status])).toEqual([
      ['linux/amd64', 'pass'],
      ['linux/arm64', 'pass'],
    ]);
    expect(report.notes.join('\n')).toMatch(
      /classic image store, whose default builder cannot build several platforms.*docker-container builder created for this session \(mah-[0-9a-f]+-builder/,
    );
    const builders = (await execa('docker', ['buildx', 'ls', '--format', '{{.Name}}'])).stdout;
    expect(builders).not.toMatch(/^mah-/m);
    const left = (await execa('docker', ['ps', '-aq', '--filter', `label=${SESSION_LABEL}`], { env })).stdout.trim();
    expect(left).toBe('');
    expect(await harnessLeftovers()).toEqual([]);
  });
});
