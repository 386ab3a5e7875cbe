/**
 * The requires made lazy in testcontainers' kept bundle (kept-bundle-lazy.ts): each rule finds its
 * text in the package as installed (else it no longer applies, and this says so), touches no other
 * file, and the lazy forms give what the eager ones gave once used.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, test } from 'vitest';
import { LAZY_REQUIRES, withLazyRequires } from '../../harness/kept-bundle-lazy.ts';

const require = createRequire(import.meta.url);
const installed = (file: string) => require.resolve(file.replace(/\.js$/, ''));

describe('lazy requires in the kept testcontainers bundle', () => {
  test.each(LAZY_REQUIRES.map((r) => [r.file, r]))('%s: the eager text is there once, and only it changes', (_, rule) => {
    const path = installed(rule.file);
    const text = readFileSync(path, 'utf8');
    expect(text.split(rule.eager).length - 1).toBe(1);
    const lazy = withLazyRequires(path, text);
    expect(lazy).toBe(text.replace(rule.eager, rule.lazy));
    expect(lazy).not.toContain(rule.eager);
  });

  test('other files are left as they are', () => {
    const path = installed('testcontainers/build/index.js');
    const text = readFileSync(path, 'utf8');
    expect(withLazyRequires(path, text)).toBe(text);
    expect(withLazyRequires('/elsewhere/dockerode/lib/docker.js', "withSession = require('./session'),")).toBe(
      "withSession = require('./session'),",
    );
  });

  test('the lazy forms give the same module once used', () => {
    const importDefault = (m: { __esModule?: boolean }) => (m?.__esModule ? m : { default: m });
    // Each declaration evaluated as its file would, with that file's require.
    const declared = (declaration: string, name: string, from: string) =>
      new Function('require', '__importDefault', `var ${declaration.replace(/^const /, '').replace(/,$/, '')}; return ${name};`)(
        createRequire(from),
        importDefault,
      );
    for (const rule of LAZY_REQUIRES) {
      const name = /^(?:const )?(\w+) =/.exec(rule.eager)![1]!;
      const from = installed(rule.file);
      const eager = declared(rule.eager, name, from);
      const lazy = declared(rule.lazy, name, from);
      if (typeof eager === 'function')
        expect(typeof lazy).toBe('function'); // withSession, ssh: called, never read
      else if (name === 'archiver_1') expect(lazy.default).toBe(eager.default);
      else expect(lazy.Agent).toBe(eager.Agent);
    }
  });
});
