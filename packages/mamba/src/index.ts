/**
 * @tfjs-ext/mamba: Mamba-2 for TensorFlow.js.
 *
 * - {@link ssd}: the SSD scan (Mamba-2's chunked state-space duality), forward and backward kernels per backend,
 *   a memory-bounded composite elsewhere.
 */
export {ssd, SSD} from './ssd/op';
export type {SSDOptions, SSDResult} from './ssd/op';
