/**
 * @tfjs-ext/attention: fused flash attention (forward and backward), flash-decoding over a KV cache, and
 * attention layers, with kernels on cpu, wasm and webgpu and a composite path everywhere else.
 */
export type {FlashAttentionOptions} from './flash_attention/contract';
