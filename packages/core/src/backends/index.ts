/**
 * Backend bootstrap: brings up `cpu`, `wasm`, `webgpu` (Dawn in Node, the browser's own elsewhere), `webgl`
 * (browsers) and `tensorflow` (tfjs-node / tfjs-node-gpu when installed), each with a reason when it cannot.
 */
import * as tf from '@tensorflow/tfjs';

export type BackendName = 'cpu' | 'wasm' | 'webgpu' | 'webgl' | 'tensorflow';

export interface BackendStatus {
  name: BackendName;
  available: boolean;
  /** Why the backend is unavailable (what to install), when it is. */
  reason?: string;
  /** Adapter / device description (webgpu: the adapter's vendor and description). */
  device?: string;
  /** True for software emulation (SwiftShader): correct, but says nothing about GPU speed. */
  emulated?: boolean;
}

export const isNode: boolean =
    typeof process !== 'undefined' && typeof process.versions === 'object' && !!process.versions.node;

/** Where Debian's chromium package puts SwiftShader's Vulkan ICD. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

const statuses = new Map<BackendName, Promise<BackendStatus>>();

/** The backends tfjs-ext knows, in the order tests run them. */
export function knownBackends(): BackendName[] {
  return isNode ? ['cpu', 'wasm', 'webgpu', 'tensorflow'] : ['webgpu', 'webgl', 'wasm', 'cpu'];
}

// Indirect import so bundlers leave Node-only packages alone.
const nodeImport = (specifier: string): Promise<any> => (0, eval)(`import(${JSON.stringify(specifier)})`);

async function setUpWebGPU(): Promise<BackendStatus> {
  const name: BackendName = 'webgpu';
  if (isNode) {
    const fs = await nodeImport('fs');
    if (process.env.VK_ICD_FILENAMES === undefined && process.env.VK_DRIVER_FILES === undefined &&
        !hasGpuDevice(fs) && fs.existsSync(SWIFTSHADER_ICD)) {
      // No GPU device node: Mesa's ICDs (lavapipe) may be installed but Dawn rejects them; use SwiftShader.
      process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    }
    // The Vulkan loader complains on stderr without it.
    if (process.env.XDG_RUNTIME_DIR === undefined) process.env.XDG_RUNTIME_DIR = (await nodeImport('os')).tmpdir();
    let webgpu: {create(flags: string[]): unknown; globals: object};
    try {
      webgpu = await nodeImport('webgpu');
    } catch (e) {
      return {name, available: false, reason: `the 'webgpu' npm package (Dawn) is not installed: npm i webgpu (${e})`};
    }
    const g = globalThis as any;
    if (g.navigator?.gpu === undefined) {
      Object.assign(globalThis, webgpu.globals);
      if (g.navigator === undefined) {
        Object.defineProperty(globalThis, 'navigator', {value: {}, writable: true, configurable: true});
      }
      g.navigator.gpu = webgpu.create([]);
    }
  }
  const gpu = (globalThis as any).navigator?.gpu;
  if (gpu === undefined) return {name, available: false, reason: 'navigator.gpu is missing (no WebGPU here)'};
  const adapter = await gpu.requestAdapter();
  if (adapter === null || adapter === undefined) {
    return {
      name, available: false,
      reason: 'no WebGPU adapter: Dawn found no Vulkan driver. Install a GPU driver, or for software emulation ' +
          "Debian's `chromium` (SwiftShader at " + SWIFTSHADER_ICD + ') and `libvulkan1`, ' +
          'or point VK_ICD_FILENAMES at an ICD json',
    };
  }
  const info = adapter.info ?? {};
  const device = [info.vendor, info.architecture, info.description].filter((s: string) => s).join(' / ');
  const emulated = /swiftshader|llvmpipe|lavapipe/i.test(device) || adapter.isFallbackAdapter === true;
  // Imported only now: the backend registers itself only if navigator.gpu exists at import time.
  await import('@tensorflow/tfjs-backend-webgpu');
  return {name, available: true, device, emulated};
}

/** A GPU the system's Vulkan drivers could drive: an NVIDIA device node or a DRM render node. */
function hasGpuDevice(fs: any): boolean {
  if (fs.existsSync('/dev/nvidia0') || fs.existsSync('/dev/nvidiactl')) return true;
  try {
    return fs.readdirSync('/dev/dri').some((f: string) => f.startsWith('renderD'));
  } catch {
    return false;
  }
}

async function setUp(name: BackendName): Promise<BackendStatus> {
  try {
    switch (name) {
      case 'cpu':
        return {name, available: true, device: 'JS'};
      case 'wasm': {
        const wasm = await import('@tensorflow/tfjs-backend-wasm');
        if (!isNode && (globalThis as any).__TFJS_EXT_WASM_PATH__) {
          wasm.setWasmPaths((globalThis as any).__TFJS_EXT_WASM_PATH__);
        }
        return {name, available: true, device: 'WebAssembly'};
      }
      case 'webgpu':
        return await setUpWebGPU();
      case 'webgl':
        if (isNode) return {name, available: false, reason: 'webgl needs a browser (no WebGL in Node)'};
        return {name, available: true, device: 'WebGL'};
      case 'tensorflow':
        if (!isNode) return {name, available: false, reason: 'tfjs-node runs only in Node'};
        // libtensorflow logs oneDNN / CPU-feature notes at info level on load; keep the user's choice if set.
        process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
        const failures: string[] = [];
        for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
          try {
            await nodeImport(pkg);
            return {name, available: true, device: pkg};
          } catch (e) {
            // Not installed is expected; an installed package that fails to load is worth telling.
            if ((e as {code?: string}).code !== 'ERR_MODULE_NOT_FOUND') failures.push(`${pkg}: ${e}`);
          }
        }
        return {
          name, available: false,
          reason: failures.length > 0 ? failures.join('; ') :
              '@tensorflow/tfjs-node(-gpu) is not installed (optional peer): npm i @tensorflow/tfjs-node, ' +
              'or without internet scripts/build-tfjs-node.sh',
        };
    }
  } catch (e) {
    return {name, available: false, reason: String(e)};
  }
}

/**
 * Brings up a backend (once) and makes it active; tells why when it cannot.
 *
 * @example
 * ```ts
 * const s = await initBackend('webgpu');
 * if (!s.available) console.log(`webgpu skipped: ${s.reason}`);
 * ```
 */
export async function initBackend(name: BackendName): Promise<BackendStatus> {
  if (!statuses.has(name)) statuses.set(name, setUp(name));
  let status = await statuses.get(name)!;
  if (status.available) {
    let ok = false;
    try {
      ok = await tf.setBackend(name);
    } catch (e) {
      status = {...status, available: false, reason: `tf.setBackend('${name}') failed: ${e}`};
    }
    if (!ok && status.available) {
      status = {...status, available: false, reason: `tf.setBackend('${name}') failed to initialise`};
    }
    if (!status.available) statuses.set(name, Promise.resolve(status));
    await tf.ready();
  }
  return status;
}

/** Status of every known backend (leaves the first available one active). */
export async function backendReport(names: BackendName[] = knownBackends()): Promise<BackendStatus[]> {
  const report: BackendStatus[] = [];
  for (const n of names) report.push(await initBackend(n));
  return report;
}

export {registerBackendProbe, useBestBackend} from './best';
export type {BackendProbe, BestBackendStatus, UseBestBackendOptions} from './best';
