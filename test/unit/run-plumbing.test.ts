/**
 * The pure parts of how a platform's container is started: which reference it starts from, the
 * network it joins, how `docker run` exit codes are derived from an engine's start failure, and how
 * the engine's multiplexed output is split into stdout and stderr.
 */
import { describe, expect, test } from 'vitest';
import { runReference } from '../../harness/checks/run-reference.ts';
import { OutputDemuxer, startFailureExitCode } from '../../harness/engine/containers.ts';
import { DEFAULT_RUN_NETWORK, networkName } from '../../harness/run-check/run-network.ts';
import { UsageError } from '../../harness/base/errors.ts';
import { parsePlatform } from '../../harness/platform/platform.ts';
import { parseImageRef } from '../../harness/registry/image-ref.ts';
import { checkOptions } from '../../harness/scenario/outcome.ts';

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const entry = (p: string, c: string) => ({
  platform: parsePlatform(p),
  digest: digest(c),
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
});
const ref = parseImageRef('127.0.0.1:5000/hello:v1');
const INDEX = digest('f');

describe('the reference a platform runs from', () => {
  const entries = [entry('linux/amd64', 'a'), entry('linux/arm/v6', 'b'), entry('linux/arm/v7', 'c')];

  test('containerd store: the index by its digest, for every platform listed once', () => {
    for (const e of entries)
      expect(runReference({ ref, indexDigest: INDEX, entries, entry: e, imageStore: 'containerd' })).toBe(`127.0.0.1:5000/hello@${INDEX}`);
  });

  test('classic store: each platform by its own manifest digest', () => {
    expect(runReference({ ref, indexDigest: INDEX, entries, entry: entries[1]!, imageStore: 'classic' })).toBe(
      `127.0.0.1:5000/hello@${digest('b')}`,
    );
  });

  test('a platform the index lists twice (arm64 and arm64/v8) is pinned to its own entry', () => {
    const twice = [entry('linux/arm64', 'd'), entry('linux/arm64/v8', 'e'), entry('linux/amd64', 'a')];
    expect(runReference({ ref, indexDigest: INDEX, entries: twice, entry: twice[1]!, imageStore: 'containerd' })).toBe(
      `127.0.0.1:5000/hello@${digest('e')}`,
    );
    expect(runReference({ ref, indexDigest: INDEX, entries: twice, entry: twice[2]!, imageStore: 'containerd' })).toBe(
      `127.0.0.1:5000/hello@${INDEX}`,
    );
  });

  test('no index digest known: the entry digest', () => {
    expect(runReference({ ref, indexDigest: undefined, entries, entry: entries[0]!, imageStore: 'containerd' })).toBe(
      `127.0.0.1:5000/hello@${digest('a')}`,
    );
  });
});

describe('the network of the run check', () => {
  test('none unless asked', () => expect(DEFAULT_RUN_NETWORK).toBe('none'));
  test.each(['none', 'bridge', 'host', 'my-net_1.x', 'container:abc'])('accepts %s', (n) => expect(networkName(n)).toBe(n));
  test.each(['', '-x', 'a b', 'net;rm -rf /', '$(id)'])('refuses %j in one sentence', (n) => {
    expect(() => networkName(n)).toThrow(UsageError);
    expect(() => networkName(n)).toThrow(/^--network takes a docker network name/);
  });

  test("the command line's network replaces the scenario's; foreign globs add up", () => {
    expect(checkOptions({ network: 'bridge', allowForeign: ['/a/**'] }, { network: 'host', allowForeign: ['/b/**'] })).toEqual({
      allowForeign: ['/a/**', '/b/**'],
      allowSkip: false,
      network: 'host',
    });
    expect(checkOptions({ network: 'bridge' }, { concurrency: 3, allowSkip: true })).toEqual({
      allowForeign: [],
      allowSkip: true,
      network: 'bridge',
      concurrency: 3,
    });
    expect(checkOptions({}, {})).toEqual({ allowForeign: [], allowSkip: false });
  });
});

describe('a container that cannot start: the exit code docker run gives', () => {
  test.each([
    ['exec: "/nonexistent": stat /nonexistent: no such file or directory: unknown', 127],
    ['exec: "hello": executable file not found in $PATH: unknown', 127],
    ['exec: "/etc": permission denied: unknown', 126],
    ['exec: "/": is a directory: unknown', 126],
    ['exec /bin/sh: exec format error: unknown', 125],
  ])('%s', (message, code) => expect(startFailureExitCode(message)).toBe(code));
});

describe("the engine's multiplexed output", () => {
  const frame = (stream: 1 | 2, text: string) => {
    const payload = Buffer.from(text);
    const header = Buffer.alloc(8);
    header[0] = stream;
    header.writeUInt32BE(payload.length, 4);
    return Buffer.concat([header, payload]);
  };

  test('frames split anywhere, even inside a header, come out whole and in order', () => {
    const all = Buffer.concat([frame(1, 'aarch64\n'), frame(2, 'warning: x\n'), frame(1, 'done'), frame(2, '')]);
    for (let cut = 0; cut <= all.length; cut++) {
      const d = new OutputDemuxer();
      d.push(all.subarray(0, cut));
      d.push(all.subarray(cut));
      expect(d.text('stdout')).toBe('aarch64\ndone');
      expect(d.text('stderr')).toBe('warning: x\n');
    }
  });

  test('a frame not yet complete is held back', () => {
    const d = new OutputDemuxer();
    d.push(frame(1, 'hello').subarray(0, 10));
    expect(d.text('stdout')).toBe('');
  });
});
