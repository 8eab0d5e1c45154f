/**
 * Backend bootstrap: brings up `cpu`, `webgl` (browsers), and `wasm`, `webgpu`, `tensorflow` when their packages
 * are imported or a loader is registered for them, each with a reason when it cannot. Nothing optional is
 * imported here (browser bundles hold only what their users import); the Node loaders (Dawn WebGPU with
 * SwiftShader, tfjs-node) live in `@tfjs-ext/core/node`.
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

const statuses = new Map<BackendName, Promise<BackendStatus>>();

/** The backends tfjs-ext knows, in the order tests run them. */
export function knownBackends(): BackendName[] {
  return isNode ? ['cpu', 'wasm', 'webgpu', 'tensorflow'] : ['webgpu', 'webgl', 'wasm', 'cpu'];
}

/**
 * Brings an optional backend package in (imports it, sets its paths, sets up what it needs) and describes the
 * device; throws with what to install when it cannot. `@tfjs-ext/core/node` registers loaders for Node (Dawn
 * WebGPU, tfjs-backend-wasm, tfjs-node); in a browser bundle, import the backend packages you want yourself, or
 * register a loader (lazy `import()`), so bundles hold only the backends their users picked.
 */
export type BackendLoader = () => Promise<{device?: string; emulated?: boolean} | void>;

const loaders = new Map<BackendName, BackendLoader>();

/**
 * Registers how `initBackend(name)` brings `name` in when tfjs has no such backend yet.
 *
 * @example
 * ```ts
 * registerBackendLoader('wasm', async () => {
 *   const wasm = await import('@tensorflow/tfjs-backend-wasm');
 *   wasm.setWasmPaths('/wasm/');
 * });
 * ```
 */
export function registerBackendLoader(name: BackendName, loader: BackendLoader): void {
  loaders.set(name, loader);
  statuses.delete(name);
}

/** What to do when a backend's package is neither imported nor loadable. */
const MISSING: Partial<Record<BackendName, string>> = {
  wasm: "tfjs's wasm backend is not loaded: npm i @tensorflow/tfjs-backend-wasm, then import it (in Node, " +
        "import '@tfjs-ext/core/node' and initBackend loads it)",
  webgpu: "tfjs's webgpu backend is not loaded: npm i @tensorflow/tfjs-backend-webgpu, then import it (in Node, " +
          "also npm i webgpu and import '@tfjs-ext/core/node', which sets up Dawn first)",
  tensorflow: "tfjs-node is not loaded: npm i @tensorflow/tfjs-node, then import '@tfjs-ext/core/node' " +
              '(or @tensorflow/tfjs-node itself)',
};

/** The WebGPU adapter's description, or why there is none (browser or Node with navigator.gpu set). */
export async function describeWebGPUAdapter(): Promise<{device: string; emulated: boolean}> {
  const gpu = (globalThis as any).navigator?.gpu;
  if (gpu === undefined) throw new Error('navigator.gpu is missing (no WebGPU here)');
  const adapter = await gpu.requestAdapter();
  if (adapter === null || adapter === undefined) {
    throw new Error('no WebGPU adapter (no GPU driver; in Node see @tfjs-ext/core/node for SwiftShader)');
  }
  const info = adapter.info ?? {};
  const device = [info.vendor, info.architecture, info.description].filter((x: string) => x).join(' / ');
  return {device, emulated: /swiftshader|llvmpipe|lavapipe/i.test(device) || adapter.isFallbackAdapter === true};
}

async function setUp(name: BackendName): Promise<BackendStatus> {
  try {
    switch (name) {
      case 'cpu':
        return {name, available: true, device: 'JS'};
      case 'webgl':
        if (isNode) return {name, available: false, reason: 'webgl needs a browser (no WebGL in Node)'};
        return {name, available: true, device: 'WebGL'};
      default: {
        const loader = loaders.get(name);
        if (loader !== undefined) {
          const info = (await loader()) ?? {};
          return {name, available: true, ...info};
        }
        if (tf.findBackendFactory(name) === null) return {name, available: false, reason: MISSING[name]};
        return {name, available: true, ...(name === 'webgpu' ? await describeWebGPUAdapter() : {device: name})};
      }
    }
  } catch (e) {
    return {name, available: false, reason: e instanceof Error ? e.message : String(e)};
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
