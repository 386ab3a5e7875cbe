/**
 * Per-platform build time from BuildKit's progress stream (`--progress=rawjson`): the stream is a
 * sequence of JSON objects (pretty-printed before buildx 0.15, one per line since); vertices carry names like
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

/** One object of the rawjson stream: vertices, and the logs and statuses that refer to them by digest. */
export interface ProgressObject {
  vertexes?: Vertex[];
  statuses?: Array<{ vertex: string }>;
  logs?: Array<{ vertex: string; data?: string }>;
}

export class RawJsonSplitter {
  private buffer: string[] = [];
  constructor(private readonly onObject: (o: ProgressObject) => void) {}

  line(line: string): void {
    if (this.buffer.length === 0) {
      if (!line.startsWith('{')) return;
      // buildx 0.15 and later: one compact object per line.
      if (line !== '{') {
        this.parse(line);
        return;
      }
    }
    // buildx before 0.15: each object pretty-printed, from a line "{" to a line "}".
    this.buffer.push(line);
    if (line === '}') {
      const text = this.buffer.join('\n');
      this.buffer = [];
      this.parse(text);
    }
  }

  private parse(text: string): void {
    let o: unknown;
    try {
      o = JSON.parse(text);
    } catch {
      return; // not a progress object: ignore
    }
    this.onObject(o as ProgressObject);
  }
}

export class BuildTimings {
  private readonly vertices = new Map<string, Vertex>();

  /** The platform whose step a vertex digest is, when its name says. */
  platformOfDigest(digest: string): string | undefined {
    const v = this.vertices.get(digest);
    return v ? platformOfVertex(v.name) : undefined;
  }

  /** The steps of a platform that started and have not completed. */
  running(platform: string): string[] {
    return [...this.vertices.values()].filter((v) => v.started && !v.completed && platformOfVertex(v.name) === platform).map((v) => v.name);
  }

  private readonly logs = new Map<string, string>();

  /** Keeps the last 4 KiB a step printed (rawjson logs carry base64 data). */
  addLog(vertex: string, base64: string | undefined): void {
    if (!base64) return;
    const text = (this.logs.get(vertex) ?? '') + Buffer.from(base64, 'base64').toString('utf8');
    this.logs.set(vertex, text.length > 4096 ? text.slice(-4096) : text);
  }

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
      const platform = platformOf(v.name, only);
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

  /**
   * Why a failed build failed: when one platform's step fails, BuildKit cancels the whole
   * multi-platform build and every other running step ends with "context canceled", often later
   * and sometimes with an exit code of its own (137: killed). The cause is the errored step that
   * completed first among those not cancelled (else the first errored one); `cancelled` lists the
   * other platforms with a step that was cancelled or never completed. `only` as for perPlatform.
   */
  failureCause(only?: string): BuildFailureCause | undefined {
    const errored = [...this.vertices.values()].filter((v) => v.error);
    const first = firstCompleted(errored.filter((v) => !isCancellation(v.error!))) ?? firstCompleted(errored);
    if (!first) return undefined;
    const platform = platformOf(first.name, only);
    const cancelled = new Set<string>();
    for (const v of this.vertices.values()) {
      const p = platformOf(v.name, only);
      const stopped = v.error ? isCancellation(v.error) : Boolean(v.started && !v.completed);
      if (p && p !== platform && stopped) cancelled.add(p);
    }
    const log = this.logs.get(first.digest)?.trim();
    return {
      ...(platform ? { platform } : {}),
      step: first.name,
      error: first.error!.trim(),
      cancelled: [...cancelled],
      ...(log ? { log } : {}),
    };
  }
}

/** The platform whose step failed first in a failed build, and what it did to the others. */
export interface BuildFailureCause {
  /** "linux/386"; absent when the failing step names no platform ("[internal] load metadata ..."). */
  platform?: string;
  /** The vertex name: "[linux/386 builder 4/4] RUN go build -o hello .". */
  step: string;
  /** BuildKit's error for that step. */
  error: string;
  /** Other platforms BuildKit cancelled because of it, in the order their steps were seen. */
  cancelled: string[];
  /** The step hung or crashed under QEMU: more likely the emulator than the image. */
  emulatorSuspect?: boolean;
  /** The last lines the failing step printed. */
  log?: string;
}

/**
 * The target platform a vertex works for: "[linux/arm64 stage-1 2/3] ..." is linux/arm64, and a
 * stage on the build platform working for another target (cross-compilation),
 * "[linux/amd64->arm/v7 builder 4/4] ...", is linux/arm/v7. Undefined when the name has none.
 */
export function platformOfVertex(name: string): string | undefined {
  const m = /^\[([a-z][a-z0-9]*)\/([\w/]+?)(?:->([\w/]+?))?(?:\s[^\]]*)?\]/.exec(name);
  return m ? `${m[1]}/${m[3] ?? m[2]}` : undefined;
}

/** A single-platform build names no platform ("[1/2] FROM ..."): its steps but [internal] ones are `only`'s. */
function platformOf(name: string, only: string | undefined): string | undefined {
  return platformOfVertex(name) ?? (only && !name.startsWith('[internal]') ? only : undefined);
}

/** BuildKit ends the steps it stops with "context canceled" (or "canceled", "cancelled"). */
function isCancellation(error: string): boolean {
  return /\bcancel(l)?ed\b/i.test(error);
}

/** Earliest `completed`; a vertex without one comes after those with one, in the order seen. */
function firstCompleted(vertices: Vertex[]): Vertex | undefined {
  const at = (v: Vertex) => {
    const t = v.completed ? Date.parse(v.completed) : Number.NaN;
    return Number.isNaN(t) ? Number.POSITIVE_INFINITY : t;
  };
  return [...vertices].sort((a, b) => (at(a) === at(b) ? 0 : at(a) - at(b)))[0];
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

/** Milliseconds per platform from a whole `buildx build --progress=rawjson` stderr (for steps that run the command themselves). */
export function platformBuildTimes(stderr: string): Record<string, number> {
  const timings = new BuildTimings();
  const splitter = new RawJsonSplitter((o) => {
    for (const v of o.vertexes ?? []) timings.add(v);
  });
  for (const line of stderr.split('\n')) splitter.line(line);
  return timings.perPlatform();
}
