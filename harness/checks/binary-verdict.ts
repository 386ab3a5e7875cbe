/**
 * The `binary` check as a `Check` (checks/check.ts), and the only user of its verdict cache
 * (binary-check-cache.ts): the same layers and entry settings judged before by this harness are not
 * read again, unless a container-structure-test file's file tests need the layers anyway. The
 * judgement itself (binary-check.ts, with the ELF and tar readers) is loaded only when a verdict
 * must be reached.
 */
import type { FetchedManifest, ImageConfig } from '../registry/index.ts';
import { timed } from '../result/index.ts';
import { keepVerdict, reusedVerdict, type KeptVerdict, type KeptVerdictKey } from './binary-check-cache.ts';
import { notReached, type Check, type PlatformContext } from './check.ts';

/**
 * What the binary check reads of the config besides the layers (findEntryBinary, the library
 * search): not its labels (the harness labels what it builds with its run), nor its history and times.
 */
function entrySettings(
  c: { Entrypoint?: string[] | null; Cmd?: string[] | null; WorkingDir?: string; Env?: string[] } | undefined,
): unknown {
  return { Entrypoint: c?.Entrypoint ?? null, Cmd: c?.Cmd ?? null, WorkingDir: c?.WorkingDir ?? '', Env: c?.Env ?? [] };
}

/** The binary verdict on one platform: reused when the cache has it, else reached from its file system (read once, by the context). */
export async function judgeEntryBinary(ctx: PlatformContext, manifest: FetchedManifest, config: ImageConfig): Promise<KeptVerdict> {
  const { request, exec } = ctx;
  const key: KeptVerdictKey = {
    layers: (manifest.body.layers ?? []).map((l) => l.digest),
    runtimeConfig: entrySettings(config.config),
    exec,
    native: ctx.probe.native,
    ...(request.command ? { command: request.command } : {}),
    ...(request.allowForeign.length ? { allowForeign: request.allowForeign } : {}),
  };
  // The same layers and entry settings judged before by this harness: no layer is read at all (unless file tests need them).
  const reused = request.structureTests ? undefined : await reusedVerdict(key);
  if (reused) return reused;
  const fs = await ctx.filesystem();
  // Loaded when a verdict must be reached: a verify whose verdicts are all reused never loads the ELF and tar readers.
  const { checkEntryBinary } = await import('./binary-check.ts');
  const binary = await timed(ctx.session.phases, 'static checks', () =>
    checkEntryBinary({
      source: ctx.source,
      manifest,
      config,
      exec,
      native: ctx.probe.native,
      tmp: ctx.scratch,
      ...(request.command ? { command: request.command } : {}),
      fs,
      ...(request.allowForeign.length ? { allowForeign: request.allowForeign } : {}),
    }),
  );
  await keepVerdict(key, { ...binary, readable: binary.elfFiles !== undefined });
  return binary;
}

export const binaryCheck: Check = {
  name: 'binary',
  async check(ctx) {
    if (!ctx.entry()) return notReached();
    const verdict = await ctx.binaryVerdict();
    if (!verdict) return notReached();
    return { result: verdict.result, ...(verdict.summary ? { findings: { binary: verdict.summary } } : {}) };
  },
};
