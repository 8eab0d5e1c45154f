/**
 * The Node loaders of the optional backends (registered when `@tfjs-ext/core/node` is imported):
 * - `webgpu`: Dawn through the `webgpu` npm package. With no GPU device node and no Vulkan ICD chosen, the
 *   Vulkan loader is pointed at SwiftShader (Debian's `chromium` ships it; Dawn rejects Mesa's lavapipe), Dawn's
 *   globals and `navigator.gpu` are installed, and only then is `@tensorflow/tfjs-backend-webgpu` imported (it
 *   registers itself only if `navigator.gpu` exists at import time).
 * - `wasm`: `@tensorflow/tfjs-backend-wasm`.
 * - `tensorflow`: `@tensorflow/tfjs-node-gpu`, else `@tensorflow/tfjs-node`.
 * Each throws what to install when its package is missing.
 */
import * as fs from 'fs';
import * as os from 'os';
import {describeWebGPUAdapter, registerBackendLoader} from '../backends';

/** Where Debian's chromium package puts SwiftShader's Vulkan ICD. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

const notInstalled = (e: unknown) =>
    ['ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND'].includes((e as {code?: string}).code ?? '');

/** A GPU the system's Vulkan drivers could drive: an NVIDIA device node or a DRM render node. */
function hasGpuDevice(): boolean {
  if (fs.existsSync('/dev/nvidia0') || fs.existsSync('/dev/nvidiactl')) return true;
  try {
    return fs.readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
  } catch {
    return false;
  }
}

async function loadWebGPU(): Promise<{device: string; emulated: boolean}> {
  if (process.env.VK_ICD_FILENAMES === undefined && process.env.VK_DRIVER_FILES === undefined && !hasGpuDevice() &&
      fs.existsSync(SWIFTSHADER_ICD)) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  process.env.XDG_RUNTIME_DIR ??= os.tmpdir();  // the Vulkan loader complains on stderr without it
  let dawn: {create(flags: string[]): unknown; globals: object};
  try {
    dawn = await import('webgpu');
  } catch (e) {
    if (notInstalled(e)) throw new Error("the 'webgpu' npm package (Dawn) is not installed: npm i webgpu");
    throw e;
  }
  const g = globalThis as any;
  if (g.navigator?.gpu === undefined) {
    Object.assign(globalThis, dawn.globals);
    if (g.navigator === undefined) {
      Object.defineProperty(globalThis, 'navigator', {value: {}, writable: true, configurable: true});
    }
    g.navigator.gpu = dawn.create([]);
  }
  let info: {device: string; emulated: boolean};
  try {
    info = await describeWebGPUAdapter();
  } catch {
    throw new Error('no WebGPU adapter: Dawn found no Vulkan driver. Install a GPU driver, or for software ' +
                    `emulation Debian's chromium (SwiftShader at ${SWIFTSHADER_ICD}) and libvulkan1, or point ` +
                    'VK_ICD_FILENAMES at an ICD json');
  }
  try {
    await import('@tensorflow/tfjs-backend-webgpu');
  } catch (e) {
    if (notInstalled(e)) throw new Error("tfjs's webgpu backend is not installed: npm i @tensorflow/tfjs-backend-webgpu");
    throw e;
  }
  return info;
}

async function loadWasm(): Promise<{device: string}> {
  try {
    await import('@tensorflow/tfjs-backend-wasm');
  } catch (e) {
    if (notInstalled(e)) throw new Error("tfjs's wasm backend is not installed: npm i @tensorflow/tfjs-backend-wasm");
    throw e;
  }
  return {device: 'WebAssembly'};
}

async function loadTfjsNode(): Promise<{device: string}> {
  // libtensorflow logs oneDNN / CPU-feature notes at info level on load; keep the user's choice if set.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  const failures: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(pkg);
      return {device: pkg};
    } catch (e) {
      // Not installed is expected; an installed package that fails to load is worth telling.
      if (!notInstalled(e)) failures.push(`${pkg}: ${e}`);
    }
  }
  throw new Error(failures.length > 0 ? failures.join('; ') :
      '@tensorflow/tfjs-node(-gpu) is not installed (optional peer): npm i @tensorflow/tfjs-node, ' +
      'or without internet scripts/build-tfjs-node.sh');
}

/** Registers the Node loaders of `webgpu`, `wasm` and `tensorflow` (importing `@tfjs-ext/core/node` does it). */
export function registerNodeBackendLoaders(): void {
  registerBackendLoader('webgpu', loadWebGPU);
  registerBackendLoader('wasm', loadWasm);
  registerBackendLoader('tensorflow', loadTfjsNode);
}
