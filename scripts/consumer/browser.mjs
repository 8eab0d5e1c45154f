// A user's browser app, bundled by esbuild from the installed tarballs: webgl built in, wasm and webgpu loaded
// lazily through registerBackendLoader (so a webgl-only app would not carry them).
import * as tf from '@tensorflow/tfjs';
import {describeWebGPUAdapter, initBackend, registerBackendLoader} from '@tfjs-ext/core';
import * as attention from '@tfjs-ext/attention';
import * as kanPkg from '@tfjs-ext/kan';
import {runChecks} from './checks.mjs';

registerBackendLoader('wasm', async () => {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(new URL('wasm/', location.href).href);
});
registerBackendLoader('webgpu', async () => {
  const info = await describeWebGPUAdapter();
  await import('@tensorflow/tfjs-backend-webgpu');
  return info;
});

const backend = new URLSearchParams(location.search).get('backend');
(async () => {
  const status = await initBackend(backend);
  if (!status.available) throw new Error(`${backend}: ${status.reason}`);
  await runChecks(tf, attention, kanPkg, backend, (m) => console.log(`browser ${m}`));
  window.__consumer = {ok: true};
})().catch((e) => { window.__consumer = {ok: false, error: String(e && e.stack || e)}; });
