/**
 * Browser test matrix: bundles every package's *.test.ts with esbuild, serves it from 127.0.0.1 and runs the
 * mocha suites inside Debian's Chromium (playwright-core, never a downloaded browser), once per backend
 * (webgpu through SwiftShader, webgl, wasm). Results stream to the terminal; exits non-zero on any failure.
 *
 *   npm run test:browser [-- --backends=webgpu,wasm] [-- --grep=flash]
 */
import * as esbuild from 'esbuild';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import * as util from 'util';
import {chromium} from 'playwright-core';

const root = path.resolve(__dirname, '..');
// A fresh folder per run, so concurrent runs never serve each other's bundles.
const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-ext-browser-'));
const args = process.argv.slice(2);
const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=').slice(1).join('=');
const backends = (flag('backends') ?? process.env.TFJS_EXT_BROWSER_BACKENDS ?? 'webgpu,webgl,wasm').split(',');
const grep = flag('grep');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const pageTimeoutMs = Number(process.env.TFJS_EXT_BROWSER_TIMEOUT_MS ?? 15 * 60 * 1000);

function findTests(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, {withFileTypes: true})) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...findTests(p));
    else if (e.name.endsWith('.test.ts') && !e.name.endsWith('.node.test.ts')) out.push(p);  // *.node.test.ts: Node only
  }
  return out;
}

async function bundle(): Promise<void> {
  const tests = fs.readdirSync(path.join(root, 'packages'))
      .flatMap((pkg) => {
        const src = path.join(root, 'packages', pkg, 'src');
        return fs.existsSync(src) ? findTests(src) : [];
      })
      .sort();
  fs.mkdirSync(outDir, {recursive: true});
  // The entry lives in the repo so esbuild resolves packages from its node_modules.
  const entry = path.join(root, 'scripts', `.browser-entry-${process.pid}.ts`);
  fs.writeFileSync(entry, [
    `import {backendsSeen} from '@tfjs-ext/core/testing';`,
    `import {registerBrowserBackends} from ${JSON.stringify(path.join(root, 'examples/browser/src/backends'))};`,
    `registerBrowserBackends(location.origin + '/wasm/');`,
    ...tests.map((t) => `import ${JSON.stringify(t)};`),
    `(globalThis as any).__tfjsExtBackendsSeen = () => [...backendsSeen.values()];`,
  ].join('\n'));
  await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    outfile: path.join(outDir, 'tests.js'),
    conditions: ['tfjs-ext-source'],
    // Node-only modules referenced behind runtime checks (emscripten glue, Dawn, tfjs-node): never run here.
    external: ['fs', 'path', 'os', 'crypto', 'worker_threads', 'perf_hooks', 'url', 'util', 'child_process',
               'webgpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
    define: {'process.env.NODE_ENV': '"test"'},
    logLevel: 'warning',
    sourcemap: 'inline',
  }).finally(() => fs.rmSync(entry, {force: true}));
  const wasmDir = path.join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
  fs.mkdirSync(path.join(outDir, 'wasm'), {recursive: true});
  for (const f of fs.readdirSync(wasmDir).filter((f) => f.endsWith('.wasm'))) {
    fs.copyFileSync(path.join(wasmDir, f), path.join(outDir, 'wasm', f));
  }
  fs.copyFileSync(path.join(root, 'node_modules/mocha/mocha.js'), path.join(outDir, 'mocha.js'));
  fs.writeFileSync(path.join(outDir, 'index.html'), `<!doctype html>
<html><head><meta charset="utf-8"><title>tfjs-ext tests</title></head><body><div id="mocha"></div>
<script src="/mocha.js"></script>
<script>
  const params = new URLSearchParams(location.search);
  globalThis.__TFJS_EXT_BACKENDS__ = params.get('backends') || '';
  mocha.setup({ui: 'bdd', reporter: 'spec', timeout: 120000, color: false});
  if (params.get('grep')) mocha.grep(params.get('grep'));
</script>
<script src="/tests.js"></script>
<script>
  const runner = mocha.run((failures) => {
    window.__tfjsExtDone = {failures, stats: runner.stats, seen: globalThis.__tfjsExtBackendsSeen()};
  });
</script></body></html>`);
}

const mime: Record<string, string> = {'.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm'};

function serve(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const file = path.join(outDir, url.pathname === '/' ? 'index.html' : path.normalize(url.pathname));
    if (!file.startsWith(outDir) || !fs.existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {'Content-Type': mime[path.extname(file)] ?? 'application/octet-stream'});
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

interface Totals {passes: number; failures: number; pending: number}

async function main(): Promise<void> {
  if (!fs.existsSync(chromiumPath)) {
    throw new Error(`no Chromium at ${chromiumPath}: apt-get install chromium (or set CHROMIUM_PATH)`);
  }
  await bundle();
  const server = await serve();
  const port = (server.address() as {port: number}).port;
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync',
           '--no-first-run', '--disable-quic', '--enable-unsafe-webgpu', '--enable-unsafe-swiftshader',
           '--use-webgpu-adapter=swiftshader', '--ignore-gpu-blocklist'],
  });
  const totals: Totals = {passes: 0, failures: 0, pending: 0};
  const seen: string[] = [];
  try {
    for (const backend of backends) {
      console.log(`\n=== Chromium ${browser.version()}: backend ${backend} ===`);
      const page = await browser.newPage();
      // Mocha's spec reporter logs with printf-style format strings: format them in order as Node would.
      let printing = Promise.resolve();
      page.on('console', (msg) => {
        const values = Promise.all(msg.args().map((a) => a.jsonValue().catch(() => a.toString())));
        printing = printing.then(async () => console.log(util.format(...(await values))));
      });
      page.on('pageerror', (err) => {
        console.log(`page error: ${err.message}`);
        totals.failures++;
      });
      const q = new URLSearchParams({backends: backend, ...(grep ? {grep} : {})});
      await page.goto(`http://127.0.0.1:${port}/?${q}`);
      await page.waitForFunction(() => (window as any).__tfjsExtDone !== undefined,
                                 undefined, {timeout: pageTimeoutMs, polling: 500});
      await printing;
      const done = await page.evaluate(() => ({
        stats: (window as any).__tfjsExtDone.stats as Totals,
        seen: (window as any).__tfjsExtDone.seen as Array<{name: string; available: boolean; device?: string;
                                                            reason?: string; emulated?: boolean}>,
      }));
      totals.passes += done.stats.passes;
      totals.failures += done.stats.failures;
      totals.pending += done.stats.pending;
      for (const s of done.seen) {
        seen.push(s.available ? `${s.name} ran (${s.device}${s.emulated ? ', emulated' : ''})` :
                                `${s.name} skipped: ${s.reason}`);
      }
      await page.close();
    }
  } finally {
    await browser.close();
    server.close();
    fs.rmSync(outDir, {recursive: true, force: true});
  }
  console.log('\nChromium backends: ' + (seen.join('; ') || 'none'));
  console.log(`browser: ${totals.passes} passed, ${totals.failures} failed, ${totals.pending} skipped`);
  if (totals.failures > 0 || totals.passes === 0) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
