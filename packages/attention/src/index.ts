/**
 * @tfjs-ext/attention: fused flash attention (forward and backward), flash-decoding over a KV cache, and
 * attention layers, with kernels on cpu, wasm and webgpu and a composite path everywhere else.
 */

// Flash attention: the ops, the kernel contract, and the host implementations (JS, SIMD WebAssembly).
export {flashAttention, flashAttentionWithLse} from './flash_attention/op';
export {FLASH_ATTENTION, FLASH_ATTENTION_GRAD, hostFlashImpls, visibleKeyRange,
        withHostFlashImpl} from './flash_attention/contract';
export type {FlashAttentionAttrs, FlashAttentionOptions, FlashDims, HostFlashImpl} from './flash_attention/contract';

// Flash-decoding over a KV cache.
export {flashDecode} from './flash_decode/op';
export {FLASH_DECODE, hostDecodeImpls, withHostDecodeImpl} from './flash_decode/contract';
export type {DecodeDims, FlashDecodeAttrs, FlashDecodeOptions, HostDecodeImpl} from './flash_decode/contract';
export {KVCache} from './kv_cache/kv_cache';
export type {KVCacheConfig} from './kv_cache/kv_cache';

// Layers and the causal LM.
export {FlashMultiHeadAttention} from './layers/multi_head_attention';
export type {FlashMultiHeadAttentionArgs} from './layers/multi_head_attention';
export {TransformerBlock} from './layers/transformer_block';
export type {TransformerBlockArgs} from './layers/transformer_block';
export {PositionEmbedding, TokenEmbedding} from './layers/embeddings';
export {causalLM, causalLMLoss, causalLMParts, LMHead} from './layers/causal_lm';
export type {CausalLMConfig, CausalLMParts} from './layers/causal_lm';
export {generate, IncrementalDecoder} from './layers/decode';
export type {GenerateOptions} from './layers/decode';
