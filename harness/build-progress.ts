/**
 * Per-platform build time from BuildKit's progress stream (`--progress=rawjson`): the stream is a
 * sequence of pretty-printed JSON objects; vertices carry names like
 * "[linux/arm64 builder 4/4] RUN go build" and started/completed timestamps. A platform's build
 * time is the union of its vertices' intervals (wall-clock time during which any step of that
 * platform was running).
 */
export interface Vertex {
  digest: string;
  name: string;
  started?: string;
  completed?: string;
  cached?: boolean;
  error?: string;
}

export class RawJsonSplitter {
  private buffer: string[] = [];
  constructor(private readonly onObject: (o: { vertexes?: Vertex[] }) => void) {}

  line(line: string): void {
    if (this.buffer.length === 0 && !line.startsWith('{')) return;
    this.buffer.push(line);
    if (line === '}') {
      const text = this.buffer.join('\n');
      this.buffer = [];
      try {
        this.onObject(JSON.parse(text) as { vertexes?: Vertex[] });
      } catch {
        /* not a progress object: ignore */
      }
    }
  }
}

export class BuildTimings {
  private readonly vertices = new Map<string, Vertex>();

  add(v: Vertex): void {
    const prev = this.vertices.get(v.digest);
    this.vertices.set(v.digest, { ...prev, ...v });
  }

  /**
   * Milliseconds per platform label found in vertex names ("linux/arm64", "linux/arm/v7"). A
   * single-platform build names no platform in its vertices ("[1/2] FROM ..."): pass that
   * platform as `only` and every step but BuildKit's [internal] ones counts for it.
   */
  perPlatform(only?: string): Record<string, number> {
    const intervals = new Map<string, Array<[number, number]>>();
    for (const v of this.vertices.values()) {
      if (!v.started || !v.completed) continue;
      // "[linux/arm64 stage-1 2/3]", or for a stage on the build platform working for another
      // target (cross-compilation) "[linux/amd64->arm/v7 builder 4/4]": the target counts.
      const m = /^\[([a-z][a-z0-9]*)\/([\w/]+?)(?:->([\w/]+?))?(?:\s[^\]]*)?\]/.exec(v.name);
      const platform = m ? `${m[1]}/${m[3] ?? m[2]}` : only && !v.name.startsWith('[internal]') ? only : undefined;
      if (!platform) continue;
      const list = intervals.get(platform) ?? [];
      list.push([Date.parse(v.started), Date.parse(v.completed)]);
      intervals.set(platform, list);
    }
    const out: Record<string, number> = {};
    for (const [platform, list] of intervals) out[platform] = unionLength(list);
    return out;
  }

  errors(): string[] {
    return [...this.vertices.values()].filter((v) => v.error).map((v) => `${v.name}: ${v.error}`);
  }
}

export function unionLength(intervals: Array<[number, number]>): number {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let [start, end] = [Number.NaN, Number.NaN];
  for (const [s, e] of sorted) {
    if (Number.isNaN(start) || s > end) {
      if (!Number.isNaN(start)) total += end - start;
      [start, end] = [s, e];
    } else {
      end = Math.max(end, e);
    }
  }
  if (!Number.isNaN(start)) total += end - start;
  return Math.round(total);
}
