/**
 * GitHub Actions workflow commands as text: whether this process runs as a step, annotations, and
 * `::group::` / `::endgroup::` to fold a scenario's progress lines. Pure: the command line decides
 * when and where to print them (cli/progress.ts, cli/output.ts), the GitHub reporter what to say
 * (report/github.ts).
 */
/** True when running as a GitHub Actions step. */
export function isGitHubActions(env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  return env.GITHUB_ACTIONS === 'true';
}

/** A workflow command's message: %, CR and LF escaped as GitHub's toolkit does (%25, %0D, %0A). */
export function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** A workflow command's property value (title=...): the message's escapes, and : and , too (%3A, %2C). */
export function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

export function annotation(level: 'error' | 'warning' | 'notice', title: string, message: string): string {
  return `::${level} title=${escapeProperty(title)}::${escapeData(message)}`;
}

export function groupStart(title: string): string {
  return `::group::${escapeData(title)}`;
}

export function groupEnd(): string {
  return '::endgroup::';
}
