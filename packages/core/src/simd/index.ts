/**
 * `@tfjs-ext/core/simd`: the C -> SIMD WebAssembly pipeline every package uses (README.md in this folder): a
 * package puts C files in its `csrc/`, `npm run build:wasm` embeds the module in
 * `src/simd/<pkg>_simd_wasm.generated.ts`, and a {@link SimdWasmModule} loads it over its own memory or over
 * the tfjs wasm backend's heap (tensors read in place).
 */
export {resetSimdPeaks, SimdInstance, simdMemoryInfo, SimdWasmModule} from './module';
export type {KernelInput, KernelOutput, SimdCallInfo, SimdExports, SimdMemoryInfo, SimdWasmSource} from './module';
export {decodeBase64} from './base64';
