/**
 * `@tfjs-ext/core/node`: Node-only pieces, never in a browser bundle. Importing it registers `file://` save and
 * load routers (the tfjs-node file format) when tfjs-node is not there to provide them.
 */
import {registerFileRouters} from './file_io';

registerFileRouters();

export {fileLoadHandler, fileSaveHandler, registerFileRouters} from './file_io';
export {fileRoundTrip} from './round_trip';
export type {RoundTripResult} from './round_trip';
