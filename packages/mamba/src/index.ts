/**
 * @tfjs-ext/mamba: Mamba-2 for TensorFlow.js.
 *
 * - {@link ssd}: the SSD scan (Mamba-2's chunked state-space duality), forward and backward kernels per backend,
 *   a memory-bounded composite elsewhere.
 * - {@link linearAttention}: causal linear attention, the SSD scan without decay.
 * - {@link Mamba2}: the Mamba-2 block as a serializable layer, with `step()` recurrent decoding;
 *   {@link mambaLM} + {@link generate}: a Mamba-2 language model and generation over the recurrent state.
 */
export {ssd, SSD} from './ssd/op';
export type {SSDOptions, SSDResult} from './ssd/op';

// The Mamba2 layer with recurrent decoding, and a Mamba-2 language model.
export {Mamba2, MAMBA2_KEYS} from './layers/mamba2';
export type {Mamba2Args} from './layers/mamba2';
export type {Mamba2Dims, Mamba2State, Mamba2Weights} from './layers/mamba2_math';
export {mambaLM, mambaLMParts, OneHotEmbedding, RMSNorm} from './layers/mamba_lm';
export type {MambaLMConfig, MambaLMParts, OneHotEmbeddingArgs} from './layers/mamba_lm';
export {generate, MambaDecoder} from './layers/decode';
export type {GenerateOptions} from './layers/decode';
export {linearAttention} from './linear_attention/op';
export type {LinearAttentionOptions} from './linear_attention/op';
