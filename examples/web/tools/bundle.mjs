// Bundles @supabase/supabase-js (the version package-lock.json pins) into one ES module,
// vendor/supabase-js.js, committed so that the page needs no npm and no CDN at run time.
// Run: npm ci && npm run build (in examples/web). With a path argument it writes there instead
// (tests/web/test_bundle.py compares that output with the committed file).
import { readFileSync } from 'node:fs'
import { build } from 'esbuild'

const here = new URL('..', import.meta.url)
const lock = JSON.parse(readFileSync(new URL('package-lock.json', here), 'utf8'))
const version = lock.packages['node_modules/@supabase/supabase-js'].version

await build({
  entryPoints: [new URL('tools/entry.js', here).pathname],
  outfile: process.argv[2] ?? new URL('vendor/supabase-js.js', here).pathname,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  legalComments: 'eof',
  // tests/web/test_bundle.py reads this line to check the bundle against the lock file.
  banner: { js: `// @supabase/supabase-js ${version}, bundled by examples/web/tools/bundle.mjs` },
})
console.log(`${process.argv[2] ?? 'vendor/supabase-js.js'}: @supabase/supabase-js ${version}`)
