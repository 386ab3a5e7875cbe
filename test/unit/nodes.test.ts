// --node PLATFORMS=ENDPOINT: parsing, one node per platform, and the builder's node layout.
import { describe, expect, test } from 'vitest';
import { checkPlacement, parseNodeOption } from '../../harness/engine/nodes.ts';
import { parsePlatformList } from '../../harness/platform/platform.ts';
import { builderMembers } from '../../harness/build/builder.ts';
import type { PlacedNode } from '../../harness/host/placement.ts';
import type { HostProbe } from '../../harness/host/probe.ts';

describe('parseNodeOption', () => {
  test('platforms and an endpoint: a DOCKER_HOST URL or a context name', () => {
    expect(parseNodeOption('linux/arm64,linux/arm/v7=ssh://me@arm-box')).toEqual({
      platforms: parsePlatformList('linux/arm64,linux/arm/v7'),
      endpoint: 'ssh://me@arm-box',
    });
    expect(parseNodeOption('linux/arm64=unix:///run/x.sock').endpoint).toBe('unix:///run/x.sock');
    expect(parseNodeOption('linux/arm64=tcp://10.0.0.2:2376').endpoint).toBe('tcp://10.0.0.2:2376');
    expect(parseNodeOption('linux/arm64=arm-box').endpoint).toBe('arm-box');
  });

  test('mistakes are one sentence', () => {
    expect(() => parseNodeOption('linux/arm64')).toThrow(/--node takes PLATFORMS=ENDPOINT/);
    expect(() => parseNodeOption('=unix:///x')).toThrow(/--node takes PLATFORMS=ENDPOINT/);
    expect(() => parseNodeOption('linux/arm64=http://x')).toThrow(/neither a DOCKER_HOST URL .* nor a docker context name/);
  });

  test('a platform on two nodes is refused, arm64 and arm64/v8 being the same', () => {
    expect(() => checkPlacement([parseNodeOption('linux/arm64=a'), parseNodeOption('linux/arm64/v8=b')])).toThrow(
      /linux\/arm64 is placed on two nodes \(a and b\)/,
    );
    expect(() => checkPlacement([parseNodeOption('linux/arm64=a'), parseNodeOption('linux/s390x=b')])).not.toThrow();
  });
});

describe('builderMembers', () => {
  const placed = (spec: string): PlacedNode => {
    const s = parseNodeOption(spec);
    return { node: { name: s.endpoint, env: { DOCKER_HOST: s.endpoint }, platforms: s.platforms }, probe: {} as HostProbe };
  };

  test('the default engine builds the platforms placed nowhere; each node its own, in order; a node with nothing to build gets no builder member', () => {
    const layout = builderMembers('b', parsePlatformList('linux/amd64,linux/arm64,linux/arm/v7,linux/s390x'), [
      placed('linux/arm64,linux/arm/v7=ssh://arm'),
      placed('linux/ppc64le=ssh://power'),
      placed('linux/s390x=ssh://z'),
    ]);
    expect(layout.map((n) => [n.member, n.endpoint, n.platforms.map((p) => `${p.architecture}${p.variant ?? ''}`)])).toEqual([
      ['b0', undefined, ['amd64']],
      ['b1', 'ssh://arm', ['arm64', 'armv7']],
      ['b2', 'ssh://z', ['s390x']],
    ]);
    // Everything placed: the first builder member is the first placed engine's.
    expect(builderMembers('b', parsePlatformList('linux/arm64'), [placed('linux/arm64=ssh://arm')]).map((n) => n.member)).toEqual(['b0']);
  });
});
