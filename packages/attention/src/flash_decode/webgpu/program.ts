/**
 * The flash-decoding programs' contract with tfjs-backend-webgpu: core's one typed module
 * (`@tfjs-ext/core/webgpu`), re-exported for the files of this folder.
 */
export {isWebGPUBackend} from '@tfjs-ext/core/webgpu';
export type {WebGPUBackendLike, WebGPUProgram} from '@tfjs-ext/core/webgpu';
