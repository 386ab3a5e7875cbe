/**
 * The command line's words: the usage text, option parsing (one sentence on a mistake), and the
 * options several commands share.
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.ts';
import { progressPrinter } from './progress.ts';
import { parsePlatformList } from '../platform/platform.ts';
import { parseReporter, type ReporterSpec } from '../report/write.ts';
import type { RunOptions } from '../scenario/run-scenario.ts';

export const USAGE = `usage:
  multiarch-harness run <scenario.ts> [--platforms a,b] [--reporter R[=FILE]]... [--allow-skip] [--builder NAME]
                         [--allow-privileged]   (scenarios that run privileged containers run only with it)
                         [--keep-going]   when one platform's build fails, build and verify the others without it
                         [--no-cache]     build every step again (BuildKit's cache would hide how it builds here)
  multiarch-harness verify <image-ref> [--platforms a,b] [--expect-output TEMPLATE | --expect-uname]
                           [--reporter R[=FILE]]... [--allow-skip] [--ca-file PEM] [--command ARG]...
  multiarch-harness demo [--reporter R[=FILE]]... [--cached] [--allow-privileged]   every scenario of the article,
                           in its order, and reports/demo-article.md (builds are cold unless --cached, for honest
                           timings; 1.4.1 runs tonistiigi/binfmt privileged, so only with --allow-privileged)
  multiarch-harness doctor [--brief] [--json] [--fresh] [--require all|a,b]   how this host runs each platform, as
                           observed by running a program of each; --require: exit 2 unless these run
  multiarch-harness report <report.json>... --reporter R[=FILE]...   re-render saved JSON reports
reporters: terminal (default, stdout), json, junit, markdown (appended to $GITHUB_STEP_SUMMARY when set), html
templates: {os} {arch} {variant} {platform} {goarch}`;

export function parse<O extends NonNullable<Parameters<typeof parseArgs>[0]>['options']>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${USAGE}`);
  }
}

export const COMMON = {
  platforms: { type: 'string' },
  reporter: { type: 'string', multiple: true },
  json: { type: 'string' },
  'allow-skip': { type: 'boolean' },
  quiet: { type: 'boolean' },
} as const;

export function reporters(values: { reporter?: string[] | undefined; json?: string | undefined }): ReporterSpec[] {
  const specs = (values.reporter ?? []).map(parseReporter);
  if (values.json) specs.push({ name: 'json', file: values.json });
  return specs;
}

export function runOptions(values: { platforms?: string | undefined; 'allow-skip'?: boolean | undefined; quiet?: boolean | undefined }, name: string): RunOptions {
  const platforms = values.platforms ? parsePlatformList(values.platforms) : undefined;
  return {
    ...(platforms ? { platforms } : {}),
    allowSkip: Boolean(values['allow-skip']),
    ...(values.quiet ? {} : { onProgress: progressPrinter(name) }),
  };
}
