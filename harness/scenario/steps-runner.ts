/** The steps scenario's runner: the scenario's own steps, each tied to a section of its reference. */
import { createStepsContext } from './steps.ts';
import type { StepsScenario } from './define.ts';
import type { RunnerInput, ScenarioOutcome } from './outcome.ts';

export async function runStepsScenario(s: StepsScenario, env: RunnerInput): Promise<ScenarioOutcome> {
  const made = await createStepsContext(env.session, env.probe, env.progress, env.options.registryImage);
  await s.steps(made.t);
  const registryImage = made.registryImage();
  return { platforms: made.t.platforms, steps: made.steps, ...(registryImage ? { registryImage } : {}), notes: [] };
}
