import { describe, expect, test } from 'vitest';
import { BuildTimings, RawJsonSplitter, unionLength, type Vertex } from '../../harness/build-progress.ts';

describe('unionLength', () => {
  test('merges overlapping intervals and adds disjoint ones', () => {
    expect(unionLength([[0, 10], [5, 15], [20, 25]])).toBe(20);
    expect(unionLength([[20, 25], [0, 10]])).toBe(15);
    expect(unionLength([])).toBe(0);
  });
});

describe('rawjson progress', () => {
  test('splits pretty-printed objects and times each platform', () => {
    const vertices: Vertex[] = [];
    const splitter = new RawJsonSplitter((o) => vertices.push(...(o.vertexes ?? [])));
    const objects = [
      { vertexes: [{ digest: 'a', name: '[linux/arm64 builder 4/4] RUN go build -o hello .', started: '2026-01-01T00:00:00Z' }] },
      { vertexes: [{ digest: 'a', name: '[linux/arm64 builder 4/4] RUN go build -o hello .', started: '2026-01-01T00:00:00Z', completed: '2026-01-01T00:00:40Z' }] },
      { vertexes: [{ digest: 'b', name: '[linux/arm/v7 builder 4/4] RUN go build -o hello .', started: '2026-01-01T00:00:05Z', completed: '2026-01-01T00:00:35Z' }] },
      { vertexes: [{ digest: 'c', name: '[linux/arm64 stage-1 3/3] COPY --from=builder /app/hello .', started: '2026-01-01T00:00:41Z', completed: '2026-01-01T00:00:42Z' }] },
      { vertexes: [{ digest: 'd', name: '[internal] load build definition from Dockerfile', started: '2026-01-01T00:00:00Z', completed: '2026-01-01T00:00:01Z' }] },
    ];
    for (const o of objects) for (const line of JSON.stringify(o, null, 2).split('\n')) splitter.line(line);
    splitter.line('not json');
    const timings = new BuildTimings();
    for (const v of vertices) timings.add(v);
    expect(timings.perPlatform()).toEqual({ 'linux/arm64': 41_000, 'linux/arm/v7': 30_000 });
  });

  test('a single-platform build names no platform: its steps count for the one requested', () => {
    const timings = new BuildTimings();
    timings.add({ digest: 'a', name: '[1/2] FROM docker.io/library/alpine:latest', started: '2026-01-01T00:00:00Z', completed: '2026-01-01T00:00:02Z' });
    timings.add({ digest: 'b', name: '[2/2] RUN uname -a > /os.txt', started: '2026-01-01T00:00:02Z', completed: '2026-01-01T00:00:03Z' });
    timings.add({ digest: 'c', name: '[internal] load metadata for docker.io/library/alpine:latest', started: '2026-01-01T00:00:00Z', completed: '2026-01-01T00:00:09Z' });
    expect(timings.perPlatform('linux/amd64')).toEqual({ 'linux/amd64': 3000 });
    expect(timings.perPlatform()).toEqual({});
  });

  test('cross-compilation steps ("[linux/amd64->arm/v7 builder 4/4]") count for their target', () => {
    const timings = new BuildTimings();
    timings.add({ digest: 'a', name: '[linux/amd64->arm/v7 builder 4/4] RUN GOOS=linux GOARCH=arm go build -o hello .', started: '2026-01-01T00:00:00Z', completed: '2026-01-01T00:00:07Z' });
    timings.add({ digest: 'b', name: '[linux/amd64->arm64 builder 4/4] RUN GOOS=linux GOARCH=arm64 go build -o hello .', started: '2026-01-01T00:00:00Z', completed: '2026-01-01T00:00:05Z' });
    timings.add({ digest: 'c', name: '[linux/amd64 builder 4/4] RUN GOOS=linux GOARCH=amd64 go build -o hello .', started: '2026-01-01T00:00:00Z', completed: '2026-01-01T00:00:04Z' });
    expect(timings.perPlatform()).toEqual({ 'linux/arm/v7': 7000, 'linux/arm64': 5000, 'linux/amd64': 4000 });
  });
});
