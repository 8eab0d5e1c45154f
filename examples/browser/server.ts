/**
 * Builds the demo app with esbuild (one bundle of src/app.ts; the packages resolve through their public entries)
 * and serves it on 127.0.0.1 with esbuild's server: `npm start` and the Chromium page tests use this.
 */
import * as esbuild from 'esbuild';
import * as fs from 'fs';
import * as path from 'path';

const here = __dirname;
const root = path.resolve(here, '../..');

/**
 * Static files next to the bundle: the page, styles, tfjs's wasm binaries, MuJoCo's (mujoco-js: an ES module with
 * its wasm inlined, which index.html's import map names), the shipped models.
 */
function copyStatic(outDir: string): void {
  fs.mkdirSync(path.join(outDir, 'wasm'), {recursive: true});
  for (const f of ['index.html', 'app.css']) fs.copyFileSync(path.join(here, f), path.join(outDir, f));
  fs.copyFileSync(path.join(root, 'node_modules/uplot/dist/uPlot.min.css'), path.join(outDir, 'uPlot.min.css'));
  const wasmDir = path.join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
  for (const f of fs.readdirSync(wasmDir).filter((f) => f.endsWith('.wasm'))) {
    fs.copyFileSync(path.join(wasmDir, f), path.join(outDir, 'wasm', f));
  }
  fs.mkdirSync(path.join(outDir, 'mujoco'), {recursive: true});
  fs.copyFileSync(path.join(root, 'node_modules/mujoco-js/dist/mujoco_wasm.js'), path.join(outDir, 'mujoco/mujoco_wasm.js'));
  fs.cpSync(path.join(here, 'public'), outDir, {recursive: true});
}

export interface AppServer {
  url: string;
  stop(): Promise<void>;
}

/** Builds into `outDir` and serves it; `watch` rebuilds on source changes (development). */
export async function serveApp({outDir, watch = false, port}: {outDir: string; watch?: boolean; port?: number}):
    Promise<AppServer> {
  fs.rmSync(outDir, {recursive: true, force: true});
  copyStatic(outDir);
  const ctx = await esbuild.context({
    entryPoints: [path.join(here, 'src/app.ts')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    outfile: path.join(outDir, 'app.js'),
    conditions: ['tfjs-ext-source'],
    // Node-only modules behind runtime checks (emscripten glue, Dawn, tfjs-node): never run in a page.
    external: ['fs', 'path', 'os', 'crypto', 'worker_threads', 'perf_hooks', 'url', 'util', 'child_process',
               'webgpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
    define: {'process.env.NODE_ENV': '"production"'},
    sourcemap: true,
    logLevel: 'warning',
  });
  await ctx.rebuild();
  if (watch) await ctx.watch();
  const {hosts, port: actual} = await ctx.serve({servedir: outDir, host: '127.0.0.1', port});
  return {url: `http://${hosts[0] ?? '127.0.0.1'}:${actual}/`, stop: () => ctx.dispose()};
}
