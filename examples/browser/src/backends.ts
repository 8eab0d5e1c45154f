/**
 * How a browser app brings in tfjs's optional backends with tfjs-ext: a lazy loader per backend, so the bundle
 * fetches and initialises wasm or webgpu only when a page picks it (a webgl-only app would register neither and
 * its bundle would hold neither). The Chromium test bundle (scripts/test-browser.ts) uses the same loaders.
 */
import {describeWebGPUAdapter, registerBackendLoader} from '@tfjs-ext/core';

/** `wasmDir`: URL of the folder holding tfjs-backend-wasm's `.wasm` files. */
export function registerBrowserBackends(wasmDir: string): void {
  registerBackendLoader('wasm', async () => {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(wasmDir);
    return {device: 'WebAssembly'};
  });
  registerBackendLoader('webgpu', async () => {
    const info = await describeWebGPUAdapter();  // throws when the browser offers no adapter
    await import('@tensorflow/tfjs-backend-webgpu');  // registers itself (navigator.gpu exists)
    return info;
  });
}
