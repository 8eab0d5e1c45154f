/** WebGPU kernels of flash attention (forward, backward); the public op registers them for 'webgpu'. */
import type {KernelFunc} from '@tfjs-ext/core';
import {flashAttentionGradWebGPU as backward} from './flash_attention_grad_webgpu';
import {flashAttentionWebGPU as forward} from './flash_attention_webgpu';

export const flashAttentionWebGPU: KernelFunc | undefined = forward;
export const flashAttentionGradWebGPU: KernelFunc | undefined = backward;
/**
 * Tuning knobs, 'auto' by default: `splitD` (invocations per row: 1, 2, 4) and `chunks` (ranges of the inner
 * loop run by separate workgroups, then merged). Benchmarks set them to compare variants on a real GPU, e.g.
 * `flashWebGPUTuning.splitD = 1; flashWebGPUTuning.chunks = 1;`.
 */
export {flashWebGPUTuning} from './common';
