/** `multiarch-harness setup [--undo]`: prepares this host's QEMU handlers and proves each platform (host-setup/). */
import { setupHost, undoSetup } from '../host-setup/index.ts';
import { parsePlatformList } from '../platform/index.ts';
import { parse, unexpectedOperand } from './args.ts';
import { UsageError } from '../base/index.ts';

const EMULATORS = ['auto', 'host', 'image'] as const;

export async function setupCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { undo: { type: 'boolean' }, platform: { type: 'string' }, emulators: { type: 'string' }, 'dry-run': { type: 'boolean' } },
    'setup',
  );
  if (positionals.length) throw unexpectedOperand('setup', positionals[0]!, 'no operands');
  const log = (line: string) => console.log(line);
  if (values.undo) {
    if (values.platform || values.emulators || values['dry-run'])
      throw new UsageError('setup --undo takes no other option: it puts back everything setup changed.');
    await undoSetup(log);
    return 0;
  }
  const emulators = values.emulators ?? 'auto';
  if (!(EMULATORS as readonly string[]).includes(emulators))
    throw new UsageError(`--emulators takes auto, host or image; got "${emulators}".`);
  const proofs = await setupHost({
    ...(values.platform ? { platforms: parsePlatformList(values.platform) } : {}),
    emulators: emulators as (typeof EMULATORS)[number],
    ...(values['dry-run'] ? { dryRun: true } : {}),
    log,
  });
  const failing = proofs.filter((p) => !p.runs);
  if (failing.length) {
    console.error(
      `multiarch-harness: ${failing.map((p) => p.platform).join(', ')} ${failing.length === 1 ? 'does' : 'do'} not run on this host yet.`,
    );
    return 1;
  }
  return 0;
}
