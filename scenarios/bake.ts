/**
 * A bake file, samples/bake/docker-bake.hcl, built with one `docker buildx bake`: the Go sample
 * cross-compiled onto scratch (hello), the article's echo-platform sample (echo), and a greeting
 * target that a matrix expands over a build argument (greeting-en, greeting-fr). buildx resolves
 * the file; each target's image is then checked on each of its platforms, and every report groups
 * its rows by target.
 */
import { defineScenario } from 'multiarch-harness';

export default defineScenario({
  kind: 'bake',
  name: 'bake',
  title: 'Bake two samples and a matrix target with docker buildx bake',
  file: new URL('../samples/bake/docker-bake.hcl', import.meta.url),
  expect: {
    hello: { kind: 'output', template: 'Hello, {os}/{goarch}!' },
    // RUN uname -a > /os.txt ran on the platform itself (under QEMU for a foreign one), and the image prints it.
    echo: { kind: 'uname' },
    'greeting-en': { kind: 'output', template: 'Hello from {platform}!' },
    'greeting-fr': { kind: 'output', template: 'Bonjour from {platform}!' },
  },
});
