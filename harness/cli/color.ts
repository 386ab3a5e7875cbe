/**
 * Whether the terminal matrix gets colour, decided for the stream it is written to (stdout, or
 * stderr when a reporter writes to stdout): NO_COLOR (set, whatever its value) turns it off;
 * FORCE_COLOR turns it on even without a terminal (FORCE_COLOR=0 or false turns it off, as Node
 * reads it); otherwise only a terminal (a TTY, TERM not "dumb") gets colour. These are picocolors'
 * own rules, applied to the right stream (picocolors looks at stdout) and without its "CI means
 * colour" guess: a CI log that wants colour says FORCE_COLOR=1.
 */
export interface ColorTarget {
  isTTY?: boolean;
}

export function colorEnabled(stream: ColorTarget, env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  if (env.NO_COLOR !== undefined) return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return !['0', 'false'].includes(force.trim().toLowerCase());
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}
