import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { BuildTimings, platformOfVertex, RawJsonSplitter, unionLength, type Vertex } from '../../harness/build/build-progress.ts';

describe('unionLength', () => {
  test('merges overlapping intervals and adds disjoint ones', () => {
    expect(
      unionLength([
        [0, 10],
        [5, 15],
        [20, 25],
      ]),
    ).toBe(20);
    expect(
      unionLength([
        [20, 25],
        [0, 10],
      ]),
    ).toBe(15);
    expect(unionLength([])).toBe(0);
  });
});

describe('rawjson progress', () => {
  // Real streams of the same build (test/fixtures/rawjson/README.md): pretty-printed objects before buildx 0.15, one per line since.
  test.each(['0.13.1', '0.29.1'])('buildx %s: every object read, every step named, both platforms timed', (version) => {
    const text = readFileSync(new URL(`../fixtures/rawjson/buildx-${version}.txt`, import.meta.url), 'utf8');
    const objects: unknown[] = [];
    const timings = new BuildTimings();
    const splitter = new RawJsonSplitter((o) => {
      objects.push(o);
      for (const v of o.vertexes ?? []) timings.add(v);
    });
    for (const line of text.split('\n')) splitter.line(line);
    // As many objects as the stream holds: each begins with "{" at the start of a line.
    expect(objects.length).toBe(text.split('\n').filter((l) => /^\{/.test(l)).length);
    expect(objects.length).toBeGreaterThan(20);
    const perPlatform = timings.perPlatform();
    expect(Object.keys(perPlatform).sort()).toEqual(['linux/amd64', 'linux/arm64']);
    for (const ms of Object.values(perPlatform)) expect(ms).toBeGreaterThan(0);
  });

  test('splits pretty-printed objects and times each platform', () => {
    const vertices: Vertex[] = [];
    const splitter = new RawJsonSplitter((o) => vertices.push(...(o.vertexes ?? [])));
    const objects = [
      { vertexes: [{ digest: 'a', name: '[linux/arm64 builder 4/4] RUN go build -o hello .', started: '2026-01-01T00:00:00Z' }] },
      {
        vertexes: [
          {
            digest: 'a',
            name: '[linux/arm64 builder 4/4] RUN go build -o hello .',
            started: '2026-01-01T00:00:00Z',
            completed: '2026-01-01T00:00:40Z',
          },
        ],
      },
      {
        vertexes: [
          {
            digest: 'b',
            name: '[linux/arm/v7 builder 4/4] RUN go build -o hello .',
            started: '2026-01-01T00:00:05Z',
            completed: '2026-01-01T00:00:35Z',
          },
        ],
      },
      {
        vertexes: [
          {
            digest: 'c',
            name: '[linux/arm64 stage-1 3/3] COPY --from=builder /app/hello .',
            started: '2026-01-01T00:00:41Z',
            completed: '2026-01-01T00:00:42Z',
          },
        ],
      },
      {
        vertexes: [
          {
            digest: 'd',
            name: '[internal] load build definition from Dockerfile',
            started: '2026-01-01T00:00:00Z',
            completed: '2026-01-01T00:00:01Z',
          },
        ],
      },
    ];
    for (const o of objects) for (const line of JSON.stringify(o, null, 2).split('\n')) splitter.line(line);
    splitter.line('not json');
    const timings = new BuildTimings();
    for (const v of vertices) timings.add(v);
    expect(timings.perPlatform()).toEqual({ 'linux/arm64': 41_000, 'linux/arm/v7': 30_000 });
  });

  test('a single-platform build names no platform: its steps count for the one requested', () => {
    const timings = new BuildTimings();
    timings.add({
      digest: 'a',
      name: '[1/2] FROM docker.io/library/alpine:latest',
      started: '2026-01-01T00:00:00Z',
      completed: '2026-01-01T00:00:02Z',
    });
    timings.add({ digest: 'b', name: '[2/2] RUN uname -a > /os.txt', started: '2026-01-01T00:00:02Z', completed: '2026-01-01T00:00:03Z' });
    timings.add({
      digest: 'c',
      name: '[internal] load metadata for docker.io/library/alpine:latest',
      started: '2026-01-01T00:00:00Z',
      completed: '2026-01-01T00:00:09Z',
    });
    expect(timings.perPlatform('linux/amd64')).toEqual({ 'linux/amd64': 3000 });
    expect(timings.perPlatform()).toEqual({});
  });

  test('cross-compilation steps ("[linux/amd64->arm/v7 builder 4/4]") count for their target', () => {
    const timings = new BuildTimings();
    timings.add({
      digest: 'a',
      name: '[linux/amd64->arm/v7 builder 4/4] RUN GOOS=linux GOARCH=arm go build -o hello .',
      started: '2026-01-01T00:00:00Z',
      completed: '2026-01-01T00:00:07Z',
    });
    timings.add({
      digest: 'b',
      name: '[linux/amd64->arm64 builder 4/4] RUN GOOS=linux GOARCH=arm64 go build -o hello .',
      started: '2026-01-01T00:00:00Z',
      completed: '2026-01-01T00:00:05Z',
    });
    timings.add({
      digest: 'c',
      name: '[linux/amd64 builder 4/4] RUN GOOS=linux GOARCH=amd64 go build -o hello .',
      started: '2026-01-01T00:00:00Z',
      completed: '2026-01-01T00:00:04Z',
    });
    expect(timings.perPlatform()).toEqual({ 'linux/arm/v7': 7000, 'linux/arm64': 5000, 'linux/amd64': 4000 });
  });
});

describe('platformOfVertex', () => {
  test('names the target platform of a step, or none', () => {
    expect(platformOfVertex('[linux/arm64 builder 4/4] RUN go build -o hello .')).toBe('linux/arm64');
    expect(platformOfVertex('[linux/arm/v7 stage-1 2/3] COPY --from=builder /app/hello .')).toBe('linux/arm/v7');
    expect(platformOfVertex('[linux/386 2/2] RUN uname -m')).toBe('linux/386');
    expect(platformOfVertex('[linux/amd64->386 builder 4/4] RUN GOOS=linux GOARCH=386 go build -o hello .')).toBe('linux/386');
    expect(platformOfVertex('[linux/amd64->arm/v7 builder 4/4] RUN GOOS=linux GOARCH=arm GOARM=7 go build -o hello .')).toBe(
      'linux/arm/v7',
    );
    expect(platformOfVertex('[internal] load metadata for docker.io/library/golang:1.24')).toBeUndefined();
    expect(platformOfVertex('[1/2] FROM docker.io/library/alpine:latest')).toBeUndefined();
    expect(platformOfVertex('[builder 4/4] RUN go build')).toBeUndefined();
    expect(platformOfVertex('exporting to image')).toBeUndefined();
  });
});

describe('failureCause', () => {
  const RUN = 'RUN go build -o hello .';
  const killed = 'process "/bin/sh -c go build -o hello ." did not complete successfully: exit code: 137';
  const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString().replace('Z', '123456Z');

  /** Feeds pretty-printed rawjson objects (as `docker buildx build --progress=rawjson` writes them) through the splitter. */
  function timingsOf(objects: Array<{ vertexes: Vertex[] }>): BuildTimings {
    const timings = new BuildTimings();
    const splitter = new RawJsonSplitter((o) => {
      for (const v of o.vertexes ?? []) timings.add(v);
    });
    for (const o of objects) for (const line of JSON.stringify({ ...o, statuses: [], logs: [] }, null, 2).split('\n')) splitter.line(line);
    return timings;
  }

  test("QEMU 386 dies first: BuildKit cancels amd64 and the others, and the last error seen is amd64's", () => {
    const platforms = ['arm64', 'arm/v7', 'arm/v6', '386', 'ppc64le', 's390x', 'amd64'];
    const digest = (p: string, step = '4/4') => `sha256:${p.replace('/', '')}-${step.replace('/', '')}`;
    const timings = timingsOf([
      {
        vertexes: [
          { digest: 'sha256:meta', name: '[internal] load metadata for docker.io/library/golang:1.24', started: t(0), completed: t(2) },
        ],
      },
      { vertexes: platforms.map((p) => ({ digest: digest(p), name: `[linux/${p} builder 4/4] ${RUN}`, started: t(10) })) },
      { vertexes: [{ digest: digest('ppc64le'), name: `[linux/ppc64le builder 4/4] ${RUN}`, started: t(10), completed: t(60) }] },
      { vertexes: [{ digest: digest('386'), name: `[linux/386 builder 4/4] ${RUN}`, started: t(10), completed: t(151), error: killed }] },
      {
        vertexes: [
          {
            digest: digest('arm64'),
            name: `[linux/arm64 builder 4/4] ${RUN}`,
            started: t(10),
            completed: t(152),
            error: 'context canceled',
          },
        ],
      },
      {
        vertexes: [
          { digest: digest('s390x'), name: `[linux/s390x builder 4/4] ${RUN}`, started: t(10), completed: t(152), error: 'canceled' },
        ],
      },
      {
        vertexes: [
          {
            digest: digest('arm/v6'),
            name: `[linux/arm/v6 builder 4/4] ${RUN}`,
            started: t(10),
            completed: t(152),
            error: 'rpc error: code = Canceled desc = context canceled',
          },
        ],
      },
      {
        vertexes: [
          {
            digest: digest('amd64'),
            name: `[linux/amd64 builder 4/4] ${RUN}`,
            started: t(10),
            completed: t(153),
            error: `${killed}: context canceled`,
          },
        ],
      },
      // arm/v7 never hears back: started, never completed.
    ]);
    expect(timings.errors().at(-1)).toMatch(/^\[linux\/amd64 builder 4\/4\].*context canceled$/);
    expect(timings.failureCause()).toEqual({
      platform: 'linux/386',
      step: `[linux/386 builder 4/4] ${RUN}`,
      error: killed,
      cancelled: ['linux/arm64', 'linux/arm/v7', 'linux/arm/v6', 'linux/s390x', 'linux/amd64'],
    });
  });

  test('the first to fail on its own wins even when seen after an earlier-seen failure that completed later', () => {
    const timings = timingsOf([
      {
        vertexes: [
          {
            digest: 'a',
            name: `[linux/arm64 builder 4/4] ${RUN}`,
            started: t(1),
            completed: t(30),
            error: 'process "/bin/sh -c go build -o hello ." did not complete successfully: exit code: 2',
          },
        ],
      },
      { vertexes: [{ digest: 'b', name: `[linux/386 builder 4/4] ${RUN}`, started: t(1), completed: t(20), error: killed }] },
    ]);
    expect(timings.failureCause()).toMatchObject({ platform: 'linux/386', cancelled: [] });
  });

  test('cross-compilation: the step of "linux/amd64->386" is linux/386\'s, and the native amd64 step it cancelled is named', () => {
    const timings = timingsOf([
      {
        vertexes: [
          {
            digest: 'x386',
            name: '[linux/amd64->386 builder 4/4] RUN GOOS=linux GOARCH=386 go build -o hello .',
            started: t(5),
            completed: t(9),
            error: 'process "/bin/sh -c GOOS=linux GOARCH=386 go build -o hello ." did not complete successfully: exit code: 1',
          },
          {
            digest: 'xamd64',
            name: '[linux/amd64 builder 4/4] RUN GOOS=linux GOARCH=amd64 go build -o hello .',
            started: t(5),
            completed: t(10),
            error: 'context canceled',
          },
          {
            digest: 'xarm64',
            name: '[linux/amd64->arm64 builder 4/4] RUN GOOS=linux GOARCH=arm64 go build -o hello .',
            started: t(5),
            completed: t(10),
            error: 'context canceled',
          },
          {
            digest: 'copy386',
            name: '[linux/386 stage-1 2/2] COPY --from=builder /app/hello /hello',
            started: t(10),
            completed: t(10),
            error: 'context cancelled',
          },
        ],
      },
    ]);
    expect(timings.failureCause()).toEqual({
      platform: 'linux/386',
      step: '[linux/amd64->386 builder 4/4] RUN GOOS=linux GOARCH=386 go build -o hello .',
      error: 'process "/bin/sh -c GOOS=linux GOARCH=386 go build -o hello ." did not complete successfully: exit code: 1',
      cancelled: ['linux/amd64', 'linux/arm64'],
    });
  });

  test('when every error is a cancellation, the first to complete is named; without `completed`, the first seen', () => {
    const cancelledOnly = timingsOf([
      {
        vertexes: [
          { digest: 'a', name: `[linux/amd64 builder 4/4] ${RUN}`, started: t(1), completed: t(9), error: 'context canceled' },
          { digest: 'b', name: `[linux/arm64 builder 4/4] ${RUN}`, started: t(1), completed: t(8), error: 'context canceled' },
        ],
      },
    ]);
    expect(cancelledOnly.failureCause()).toMatchObject({ platform: 'linux/arm64', cancelled: ['linux/amd64'] });
    const noTimes = timingsOf([
      {
        vertexes: [
          { digest: 'a', name: `[linux/s390x builder 4/4] ${RUN}`, error: 'exit code: 139' },
          { digest: 'b', name: `[linux/arm64 builder 4/4] ${RUN}`, error: 'exit code: 1' },
        ],
      },
    ]);
    expect(noTimes.failureCause()).toMatchObject({ platform: 'linux/s390x', cancelled: [] });
  });

  test("a single-platform build names no platform: its failing step is the requested one's; [internal] ones are no platform's", () => {
    const single = new BuildTimings();
    single.add({
      digest: 'a',
      name: '[2/2] RUN false',
      started: t(1),
      completed: t(2),
      error: 'process "/bin/sh -c false" did not complete successfully: exit code: 1',
    });
    expect(single.failureCause('linux/amd64')).toMatchObject({ platform: 'linux/amd64', step: '[2/2] RUN false', cancelled: [] });
    expect(single.failureCause()).not.toHaveProperty('platform');
    const metadata = new BuildTimings();
    metadata.add({
      digest: 'm',
      name: '[internal] load metadata for docker.io/library/golang:9',
      started: t(0),
      completed: t(1),
      error: 'docker.io/library/golang:9: not found',
    });
    expect(metadata.failureCause('linux/amd64')).toEqual({
      step: '[internal] load metadata for docker.io/library/golang:9',
      error: 'docker.io/library/golang:9: not found',
      cancelled: [],
    });
  });

  test('no errored step, no cause', () => {
    const ok = new BuildTimings();
    ok.add({ digest: 'a', name: `[linux/amd64 builder 4/4] ${RUN}`, started: t(1), completed: t(2) });
    expect(ok.failureCause()).toBeUndefined();
  });
});

describe("the failing step's own words", () => {
  test('the last lines a step printed come with the failure, so a Go runtime crash under QEMU can be told from an ordinary error', () => {
    const t = new BuildTimings();
    t.add({
      digest: 'a',
      name: '[linux/386 builder 4/4] RUN go build -o hello .',
      started: '2026-01-01T00:00:00Z',
      completed: '2026-01-01T00:00:05Z',
      error: 'process "/bin/sh -c go build -o hello ." did not complete successfully: exit code: 2',
    });
    t.addLog(
      'a',
      Buffer.from(
        'compiling\nfatal error: unexpected signal during runtime execution\n[signal SIGSEGV: segmentation violation]\n',
      ).toString('base64'),
    );
    const cause = t.failureCause();
    expect(cause).toMatchObject({ platform: 'linux/386' });
    expect(cause!.log).toMatch(/^compiling\nfatal error: unexpected signal during runtime execution/);
  });
});
