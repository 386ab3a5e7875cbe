import { describe, expect, test } from 'vitest';
import { UsageError } from '../../harness/base/errors.ts';
import { runScenario } from '../../harness/scenario/run-scenario.ts';
import { defineScenario } from '../../harness/scenario/define.ts';

describe('privileged scenarios', () => {
  const scenario = defineScenario({
    kind: 'steps',
    name: 'needs-privilege',
    title: 't',
    privileged: 'runs a privileged container',
    steps: () => {
      throw new Error('must not run');
    },
  });

  test('are refused, before anything runs, unless allowed', async () => {
    const refused = runScenario(scenario);
    await expect(refused).rejects.toThrow(UsageError);
    await expect(refused).rejects.toThrow('needs-privilege runs a privileged container; it runs only when asked: pass --allow-privileged.');
  });
});
