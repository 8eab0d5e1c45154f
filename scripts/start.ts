/**
 * `npm start`: the main job on defaults. Reports which backends are available here (with the WebGPU adapter),
 * then builds the in-browser demo app (examples/browser) and serves it on 127.0.0.1 until interrupted.
 * The quick benchmark that used to run here is `npm run bench -- --quick`.
 *
 *   npm start [-- --port=8080] [-- --watch] [-- --check]   (--check: build, serve, fetch the page once, exit)
 */
import '@tfjs-ext/core/node';  // Node loaders of wasm, webgpu (Dawn) and tensorflow; file:// routers
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import {backendReport} from '@tfjs-ext/core';
import {machineDescription} from '@tfjs-ext/core/bench';
import {parseFlags, runExample} from '../examples/node/common/flags';
import {serveApp} from '../examples/browser/server';

runExample(async () => {
  const flags = parseFlags('npm start: backend report, then the demo app on 127.0.0.1', {
    port: {default: 0, help: 'port to serve on (0: a free one)'},
    watch: {default: false, help: 'rebuild the app when its sources change'},
    check: {default: false, help: 'build, serve, fetch the page once and exit (smoke test)'},
  });
  console.log(`tfjs-ext on ${await machineDescription()}, tfjs ${tf.version.tfjs}\n`);
  console.log('Backends in Node (the demo app runs in your browser: it offers webgpu, webgl, wasm, cpu there):');
  for (const s of await backendReport()) {
    console.log(s.available ?
                    `  ${s.name.padEnd(10)} available  ${s.device}${s.emulated ? ' (software emulation)' : ''}` :
                    `  ${s.name.padEnd(10)} skipped    ${s.reason}`);
  }
  console.log('\nbuilding the demo app (examples/browser) ...');
  const server = await serveApp({outDir: path.join(os.tmpdir(), `tfjs-ext-app-${process.pid}`), watch: flags.watch,
                                 port: flags.port || undefined});
  const pages = [['lm', 'text generation'], ['mamba', 'Mamba-2 LM'], ['kan', 'KAN fit'], ['bfn', 'BFN sampling'],
                 ['sac', 'SAC: pendulum and MuJoCo cart-pole'], ['pointnet', 'PointNet++: classes and parts']];
  console.log(`\ntfjs-ext demo app: ${server.url}\n` +
              pages.map(([id, what]) => `  ${`${server.url}#/${id}`.padEnd(36)} ${what}\n`).join('') +
              '  pick the backend in the page header; Ctrl-C stops the server.\n' +
              'Benchmarks: npm run bench -- --quick (all suites, small sizes) or npm run bench.');
  if (flags.check) {
    const res = await fetch(server.url);
    const js = await fetch(new URL('app.js', server.url));
    const mujoco = await fetch(new URL('mujoco/mujoco_wasm.js', server.url));  // the cart-pole's MuJoCo build
    console.log(`check: GET / -> ${res.status}, GET /app.js -> ${js.status} (${(await js.arrayBuffer()).byteLength} ` +
                `bytes), GET /mujoco/mujoco_wasm.js -> ${mujoco.status} (${(await mujoco.arrayBuffer()).byteLength} bytes)`);
    await server.stop();
    if (!res.ok || !js.ok || !mujoco.ok) process.exitCode = 1;
    process.exit();
  }
  process.on('SIGINT', () => void server.stop().then(() => process.exit(0)));
});
