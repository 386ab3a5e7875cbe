// After `tsc` and write-code-id.mjs: dist/cli.cjs, the compiled CLI as one CommonJS file
// (entry: harness/one-file-entry.ts). For verify, doctor, report, and `run` of a scenario the
// harness compiles itself (an ES module in TypeScript): instead of Node finding, reading and
// compiling the ~150 modules of a command at every start, bin/multiarch-harness.mjs runs this one
// file through vm.Script with a kept code cache (harness/kept-bundle.ts, loadBuiltBundle).
//   - Its first line names the code id of the dist/ it was made from: a bundle that does not match
//     the modules beside it is not used.
//   - Every dist file keeps its own import.meta.url, relative to the bundle wherever the package is
//     installed.
//   - The packages the harness uses are bundled in, but for esbuild (a native binary) and
//     testcontainers (loaded from its own kept bundle).
//   - A scenario run from here gets this bundle's harness API and is imported by bin/'s own
//     import() (harness/scenario/module-import.ts). `demo` stays on the ES modules (it runs
//     scenarios of every kind, and once); its modules are left out.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const codeId = readFileSync(join(dist, 'harness/code-id.txt'), 'utf8').trim();
const LEFT_OUT = [/\/dist\/demo\//];

const result = await build({
  entryPoints: [join(dist, 'harness/one-file-entry.js')],
  outfile: join(dist, 'cli.cjs'),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  write: false,
  logLevel: 'warning',
  banner: { js: `// multiarch-harness code id ${codeId}` },
  external: ['esbuild', 'testcontainers', 'tsx', 'tsx/*', 'vitest', 'vitest/*'],
  // A vm.Script has no module loader: import() becomes require().
  supported: { 'dynamic-import': false },
  define: { 'import.meta.url': '__mah_url' },
  plugins: [
    {
      name: 'dist-files',
      setup(b) {
        b.onResolve({ filter: /.*/ }, async (args) => {
          if (args.pluginData === 'resolving' || args.kind === 'entry-point') return undefined;
          const r = await b.resolve(args.path, {
            kind: args.kind,
            resolveDir: args.resolveDir,
            importer: args.importer,
            pluginData: 'resolving',
          });
          if (r.path && LEFT_OUT.some((re) => re.test(r.path))) {
            // Never reached from this bundle (bin/ sends demo to the ES modules); required by path if it ever is.
            return { path: `./${relative(dist, r.path)}`, external: true };
          }
          return undefined;
        });
        // Each dist file's own URL, from where the bundle lies: dist/cli.cjs beside dist/harness/.
        b.onLoad({ filter: /\.js$/ }, (args) => {
          if (!args.path.startsWith(dist)) return undefined;
          const rel = relative(dist, args.path);
          const prefix = `var __mah_url = require("node:url").pathToFileURL(require("node:path").join(__dirname, ${JSON.stringify(rel)})).href;`;
          return { loader: 'js', contents: prefix + readFileSync(args.path, 'utf8'), resolveDir: dirname(args.path) };
        });
      },
    },
  ],
});
const text = result.outputFiles[0].text;
// import.meta left in a package file would be empty in CommonJS: say so.
if (/(^|[^"'\w.])import\.meta\b/m.test(text)) console.warn('bundle-cli: import.meta remains in dist/cli.cjs');
writeFileSync(join(dist, 'cli.cjs'), text);
