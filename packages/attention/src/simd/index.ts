/**
 * SIMD WebAssembly host kernels for flash attention on the cpu and wasm backends. Importing this module
 * registers the 'simd-wasm' `HostFlashImpl` and `HostDecodeImpl` when the runtime validates the module
 * (WebAssembly SIMD128), unless disabled by `TFJS_EXT_DISABLE_SIMD` (environment variable in Node, or
 * `globalThis.TFJS_EXT_DISABLE_SIMD = true` before import); otherwise the plain-JS kernels stay in use.
 */
import {registerHostFlashImpl} from '../flash_attention/contract';
import {registerHostDecodeImpl} from '../flash_decode/contract';
import {simdHostDecodeImpl} from './decode_impl';
import {simdWasmSupported} from './module';
import {simdHostFlashImpl} from './host_impl';

export {simdDecode, simdHostDecodeImpl} from './decode_impl';
export {simdExp2, simdHostFlashImpl} from './host_impl';
export {flashSimdModule, lastSimdCall, simdWasmSupported} from './module';
export type {SimdCallInfo} from './module';

/** Why the SIMD kernels are or are not used: `{use: true}` or `{use: false, reason}`. */
export interface SimdDecision {
  use: boolean;
  reason?: string;
}

/** Decides whether to register the SIMD kernels (inputs overridable for tests). */
export function simdDecision(opts: {disabled?: boolean; supported?: () => boolean} = {}): SimdDecision {
  const g = globalThis as any;
  const disabled = opts.disabled ??
      (g.TFJS_EXT_DISABLE_SIMD === true || ['1', 'true'].includes(String(g.process?.env?.TFJS_EXT_DISABLE_SIMD)));
  if (disabled) return {use: false, reason: 'disabled by TFJS_EXT_DISABLE_SIMD'};
  let supported = false;
  try {
    supported = (opts.supported ?? simdWasmSupported)();
  } catch (e) {
    return {use: false, reason: `WebAssembly unavailable: ${e}`};
  }
  return supported ? {use: true} : {use: false, reason: 'WebAssembly SIMD128 is not supported by this runtime'};
}

/** Registers the SIMD kernels when `decision.use` (registries injectable for tests); returns whether it did. */
export function installSimdKernels(decision: SimdDecision, registerFlash = registerHostFlashImpl,
                                   registerDecode = registerHostDecodeImpl): boolean {
  if (!decision.use) return false;
  registerFlash(simdHostFlashImpl);
  registerDecode(simdHostDecodeImpl);
  return true;
}

/** The decision taken when this module was imported. */
export const simdStatus: SimdDecision = simdDecision();
installSimdKernels(simdStatus);
