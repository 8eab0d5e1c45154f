/**
 * The scan primitive `TfjsExtSSDScan`: the SSD recurrence with the log-decay and the input scale given apart,
 *
 *   h_t = exp(la_t A_h) h_{t-1} + s_t x_t B_t^T,   y_t = h_t C_t + D_h x_t,   h_0 = initialState,
 *
 * inputs x [batch, L, H, P], la [batch, L, H], s [batch, L, H], A [H], B, C [batch, L, G, N], D [H],
 * initialState [batch, H, P, N]; outputs [y, finalState]. The forward SSD is the scan with la = s = dt; the
 * backward is four more scans (see grad_scan.ts), so a backend with this one kernel (webgpu) has the op's
 * forward and backward without float atomics.
 */
export const SSD_SCAN = 'TfjsExtSSDScan';
