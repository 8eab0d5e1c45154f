/**
 * `@tfjs-ext/core/node`: Node-only pieces, never in a browser bundle. Importing it registers
 * - the loaders `initBackend` uses in Node: `webgpu` through Dawn (SwiftShader when there is no GPU), `wasm`,
 *   and `tensorflow` (tfjs-node), each with a message saying what to install when it is missing;
 * - `file://` save and load routers (the tfjs-node file format) when tfjs-node is not there to provide them.
 *
 * @example
 * ```ts
 * import '@tfjs-ext/core/node';
 * import {initBackend} from '@tfjs-ext/core';
 * await initBackend('webgpu');                 // Dawn in Node
 * await model.save('file:///tmp/my-model');
 * ```
 */
import {registerNodeBackendLoaders} from './backends';
import {registerFileRouters} from './file_io';

registerNodeBackendLoaders();
registerFileRouters();

export {registerNodeBackendLoaders, SWIFTSHADER_ICD} from './backends';
export {fileLoadHandler, fileSaveHandler, registerFileRouters} from './file_io';
export {fileRoundTrip} from './round_trip';
export type {RoundTripResult} from './round_trip';
