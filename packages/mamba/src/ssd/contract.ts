/** Kernel names and attributes of the SSD op (shared by op, kernels and gradient). */

/** Forward kernel: inputs x, dt, A, B, C, D, initialState; outputs [y, finalState]. */
export const SSD = 'TfjsExtSSD';
/**
 * Backward kernel: inputs x, dt, A, B, C, D, initialState, dy, dFinalState; outputs
 * [dx, ddt, dA, dB, dC, dD, dInitialState].
 */
export const SSD_GRAD = 'TfjsExtSSDGrad';

export interface SSDAttrs {
  /** Chunk length Q. */
  chunkSize: number;
}
