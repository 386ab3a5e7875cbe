/**
 * container-structure-test's expectations are Go regular expressions (RE2), matched anywhere in the
 * text. Most are JavaScript regular expressions as they stand; the differences that occur in real
 * files are translated: leading flag groups such as `(?i)` or `(?s)`, named groups `(?P<name>...)`,
 * and `\A` / `\z`. A platform's values fill `{os}`, `{arch}`, `{variant}`, `{platform}` and
 * `{goarch}` first (as in `--expect-output`), so one file can expect each platform's own output.
 */
import { fillTemplate, type Platform } from '../platform/index.ts';

export function compileExpectation(pattern: string): { regex?: RegExp; problem?: string } {
  let source = pattern;
  let flags = '';
  const leading = /^\(\?([imsU]+)\)/.exec(source);
  if (leading) {
    if (leading[1]!.includes('U')) return { problem: 'the U (ungreedy) flag has no JavaScript equivalent' };
    flags = [...new Set(leading[1]!)].join('');
    source = source.slice(leading[0].length);
  }
  source = source
    .replace(/\(\?P</g, '(?<')
    .replace(/\\A/g, '(?<![\\s\\S])')
    .replace(/\\z/g, '(?![\\s\\S])');
  try {
    return { regex: new RegExp(source, flags) };
  } catch (err) {
    return { problem: (err as Error).message.replace(/^Invalid regular expression: /, '') };
  }
}

/** Does `text` contain a match of the pattern, the platform's values filled in? */
export function matches(pattern: string, text: string, platform: Platform): boolean {
  const { regex } = compileExpectation(fillTemplate(pattern, platform));
  // A pattern that only compiles once filled in was checked when the file was read; one that does not is no match.
  return regex ? regex.test(text) : false;
}
