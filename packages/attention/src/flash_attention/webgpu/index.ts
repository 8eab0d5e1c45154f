/** WebGPU kernels of flash attention (forward, backward). Filled in by the webgpu work; none registered yet. */
import type {KernelFunc} from '@tfjs-ext/core';

export const flashAttentionWebGPU: KernelFunc | undefined = undefined;
export const flashAttentionGradWebGPU: KernelFunc | undefined = undefined;
