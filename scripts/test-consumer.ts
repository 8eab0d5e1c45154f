/**
 * The consumer test: what a user gets from npm. Packs every package from this checkout (`npm pack`, whose
 * prepack builds dist/), installs the tarballs into a fresh project outside the repository with only
 * @tensorflow/tfjs (+ the wasm and webgpu backends), then runs, with no source condition and no tsx:
 * 1. a plain Node ESM script and a CommonJS script (forward + gradient of flashAttention, a KAN layer, file://
 *    save/load) on cpu and wasm;
 * 2. an esbuild browser bundle of the same checks in Chromium on webgl, wasm and webgpu;
 * 3. TypeScript 5.9 on imports of every subpath under moduleResolution node, node16 and bundler;
 * and prints the tarball sizes and the bundle size of a webgl-only user.
 *
 *   npm run test:consumer [-- --keep] [-- --only=core,attention,kan]   (--keep leaves the project folder)
 */
import {execFileSync} from 'child_process';
import * as esbuild from 'esbuild';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import {chromium} from 'playwright-core';

const root = path.resolve(__dirname, '..');
const here = path.join(__dirname, 'consumer');
const keep = process.argv.includes('--keep');
/** `--only=core,attention,kan`: pack just these (development); by default every package. */
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
const TFJS = '4.22.0';

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, {cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'],
                                  env: {...process.env, npm_config_audit: 'false', npm_config_fund: 'false'}});
}

function packAll(dest: string): string[] {
  const tarballs: string[] = [];
  for (const name of fs.readdirSync(path.join(root, 'packages')).sort()) {
    const dir = path.join(root, 'packages', name);
    if (!fs.existsSync(path.join(dir, 'package.json')) || (only !== undefined && !only.includes(name))) continue;
    const [info] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', dest], dir));
    const file = path.join(dest, info.filename);
    const bad = (info.files as Array<{path: string}>).map((f) => f.path)
        .filter((p) => /\.(test|bench)\.|\.wasm$|(^|\/)src\/|ort_peer/.test(p));
    if (bad.length > 0) throw new Error(`${info.name}: the tarball ships ${bad.join(', ')}`);
    for (const needed of ['dist/index.js', 'dist/index.d.ts', 'README.md', 'LICENSE']) {
      if (!(info.files as Array<{path: string}>).some((f) => f.path === needed)) {
        throw new Error(`${info.name}: the tarball lacks ${needed}`);
      }
    }
    console.log(`  ${info.name}: ${(fs.statSync(file).size / 1024).toFixed(1)} KiB packed, ` +
                `${(info.unpackedSize / 1024).toFixed(1)} KiB unpacked, ${info.files.length} files`);
    tarballs.push(file);
  }
  return tarballs;
}

async function browserChecks(project: string): Promise<void> {
  const out = path.join(project, 'web');
  fs.mkdirSync(path.join(out, 'wasm'), {recursive: true});
  const common = {bundle: true, platform: 'browser' as const, target: 'es2022', absWorkingDir: project,
                  logLevel: 'warning' as const, define: {'process.env.NODE_ENV': '"production"'}};
  await esbuild.build({...common, entryPoints: [path.join(project, 'browser.mjs')], format: 'esm', splitting: true,
                       outdir: out});
  const sizes = [];
  for (const minify of [false, true]) {
    const webglOnly = await esbuild.build({...common, entryPoints: [path.join(project, 'webgl-only.mjs')],
                                           format: 'esm', minify, write: false, outdir: path.join(out, 'x')});
    sizes.push(`${(webglOnly.outputFiles.reduce((a, f) => a + f.contents.length, 0) / 1e6).toFixed(2)} MB` +
               (minify ? ' minified' : ''));
  }
  console.log(`  webgl-only user's bundle (tfjs + @tfjs-ext/attention + @tfjs-ext/kan): ${sizes.join(', ')}`);
  const wasmDir = path.join(project, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
  for (const f of fs.readdirSync(wasmDir).filter((f) => f.endsWith('.wasm'))) {
    fs.copyFileSync(path.join(wasmDir, f), path.join(out, 'wasm', f));
  }
  fs.writeFileSync(path.join(out, 'index.html'),
                   '<!doctype html><meta charset="utf-8"><script type="module" src="browser.js"></script>');
  const mime: Record<string, string> = {'.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm'};
  const server = http.createServer((req, res) => {
    const file = path.join(out, path.normalize(new URL(req.url ?? '/', 'http://x').pathname));
    const target = fs.existsSync(file) && fs.statSync(file).isDirectory() ? path.join(file, 'index.html') : file;
    if (!target.startsWith(out) || !fs.existsSync(target)) return void res.writeHead(404).end();
    res.writeHead(200, {'Content-Type': mime[path.extname(target)] ?? 'application/octet-stream'});
    fs.createReadStream(target).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as {port: number}).port;
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync',
           '--no-first-run', '--disable-quic', '--enable-unsafe-webgpu', '--enable-unsafe-swiftshader',
           '--use-webgpu-adapter=swiftshader', '--ignore-gpu-blocklist'],
  });
  try {
    for (const backend of ['webgl', 'wasm', 'webgpu']) {
      const page = await browser.newPage();
      page.on('console', (m) => { if (m.text().startsWith('browser ')) console.log(`  ${m.text()}`); });
      await page.goto(`http://127.0.0.1:${port}/?backend=${backend}`);
      await page.waitForFunction(() => (window as any).__consumer !== undefined, undefined, {timeout: 180000});
      const r = await page.evaluate(() => (window as any).__consumer);
      if (!r.ok) throw new Error(`browser bundle on ${backend}: ${r.error}`);
      await page.close();
    }
  } finally {
    await browser.close();
    server.close();
  }
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-ext-consumer-'));
  try {
    console.log(`packing every package (prepack builds dist/) into ${work}:`);
    const tarballs = packAll(work);
    const project = path.join(work, 'project');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({name: 'consumer', private: true}));
    for (const f of fs.readdirSync(here)) fs.copyFileSync(path.join(here, f), path.join(project, f));
    console.log('installing the tarballs with @tensorflow/tfjs, -backend-wasm and -backend-webgpu only:');
    run('npm', ['install', '--prefer-offline', '--no-package-lock', ...tarballs, `@tensorflow/tfjs@${TFJS}`,
                `@tensorflow/tfjs-backend-wasm@${TFJS}`, `@tensorflow/tfjs-backend-webgpu@${TFJS}`,
                'typescript@5.9', '@types/node@20', '@types/mocha@10'], project);
    console.log('TypeScript 5.9 on every subpath (types.ts):');
    for (const [resolution, module] of [['node', 'commonjs'], ['node16', 'node16'], ['bundler', 'esnext']]) {
      run(process.execPath, [path.join(project, 'node_modules/typescript/bin/tsc'), '--noEmit', '--strict',
                             '--skipLibCheck', '--module', module, '--moduleResolution', resolution,
                             '--types', 'node,mocha', 'types.ts'], project);
      console.log(`  moduleResolution ${resolution}: ok`);
    }
    console.log('Node, ESM and CommonJS:');
    for (const script of ['node-esm.mjs', 'node-cjs.cjs']) {
      const output = run(process.execPath, [script], project);
      console.log(output.trimEnd().split('\n').filter((l) => /^(esm|cjs) /.test(l)).map((l) => `  ${l}`).join('\n'));
    }
    console.log('browser bundle (esbuild) in Chromium:');
    await browserChecks(project);
    console.log('consumer: 4 passed, 0 failed');
  } finally {
    if (keep) console.log(`kept ${work}`);
    else fs.rmSync(work, {recursive: true, force: true});
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  console.log('consumer: 0 passed, 1 failed');
  process.exitCode = 1;
});
