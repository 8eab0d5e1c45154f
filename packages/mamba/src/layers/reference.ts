/**
 * Float64 oracle of the Mamba-2 block, written from the spec (and `mamba2.py`) with plain loops, one token at a
 * time, sharing nothing with the tensor implementation: in-projection, causal depthwise conv + SiLU, softplus dt,
 * the sequential SSM recurrence `h_t = exp(dt_t A) h_{t-1} + dt_t x_t B_t^T`, `y_t = h_t C_t + D x_t`, gated
 * RMSNorm per group, out-projection.
 */

export interface BlockSizes {
  dModel: number;
  dInner: number;
  dState: number;
  dConv: number;
  headDim: number;
  nHeads: number;
  nGroups: number;
}

/** Row-major float64 weights, same layouts as the layer's variables. */
export interface BlockWeights64 {
  inProjKernel: Float64Array;   // [dModel, dProj]
  convKernel: Float64Array;     // [dConv, convDim]
  convBias: Float64Array;       // [convDim]
  dtBias: Float64Array;         // [H]
  aLog: Float64Array;           // [H]
  d: Float64Array;              // [H]
  normWeight: Float64Array;     // [dInner]
  outProjKernel: Float64Array;  // [dInner, dModel]
}

/** The names of {@link BlockWeights64} in the order the gradient tests pass them. */
export const WEIGHT_NAMES: Array<keyof BlockWeights64> =
    ['inProjKernel', 'convKernel', 'convBias', 'dtBias', 'aLog', 'd', 'normWeight', 'outProjKernel'];

const EPS = 1e-5;
const siluF = (v: number) => v / (1 + Math.exp(-v));
const softplusF = (v: number) => (v > 20 ? v : Math.log1p(Math.exp(v)));

/**
 * The block on `u [batch, L, dModel]` from a fresh state: output `[batch, L, dModel]`, and the final conv
 * inputs `[batch, dConv - 1, convDim]` and SSM state `[batch, H, P, N]`.
 */
export function mamba2Reference(s: BlockSizes, w: BlockWeights64, u: Float64Array, batch: number, seq: number):
    {output: Float64Array; convState: Float64Array; ssmState: Float64Array} {
  const {dModel, dInner, dState: N, dConv, headDim: P, nHeads: H, nGroups: G} = s;
  const cDim = dInner + 2 * G * N, dProj = 2 * dInner + 2 * G * N + H;
  const output = new Float64Array(batch * seq * dModel);
  const convStateOut = new Float64Array(batch * (dConv - 1) * cDim);
  const ssmStateOut = new Float64Array(batch * H * P * N);
  for (let b = 0; b < batch; b++) {
    // In-projection of every token: [L, dProj].
    const proj = new Float64Array(seq * dProj);
    for (let t = 0; t < seq; t++) {
      for (let j = 0; j < dProj; j++) {
        let acc = 0;
        for (let i = 0; i < dModel; i++) acc += u[(b * seq + t) * dModel + i] * w.inProjKernel[i * dProj + j];
        proj[t * dProj + j] = acc;
      }
    }
    const h = new Float64Array(H * P * N);  // SSM state, zero at the start
    for (let t = 0; t < seq; t++) {
      // Causal conv over the xBC columns (zero left padding), then SiLU.
      const xbc = new Float64Array(cDim);
      for (let c = 0; c < cDim; c++) {
        let acc = w.convBias[c];
        for (let k = 0; k < dConv; k++) {
          const src = t - (dConv - 1) + k;
          if (src >= 0) acc += w.convKernel[k * cDim + c] * proj[src * dProj + dInner + c];
        }
        xbc[c] = siluF(acc);
      }
      const y = new Float64Array(dInner);
      for (let hd = 0; hd < H; hd++) {
        const g = Math.floor(hd / (H / G));
        const dt = softplusF(proj[t * dProj + dInner + cDim + hd] + w.dtBias[hd]);
        const decay = Math.exp(dt * -Math.exp(w.aLog[hd]));
        for (let p = 0; p < P; p++) {
          const xv = xbc[hd * P + p];
          let acc = 0;
          for (let n = 0; n < N; n++) {
            const idx = (hd * P + p) * N + n;
            h[idx] = decay * h[idx] + dt * xv * xbc[dInner + g * N + n];
            acc += h[idx] * xbc[dInner + G * N + g * N + n];
          }
          y[hd * P + p] = acc + w.d[hd] * xv;
        }
      }
      // Gate, then RMSNorm per group, then out-projection.
      const gs = dInner / G;
      const gated = y.map((v, i) => v * siluF(proj[t * dProj + i]));
      for (let g = 0; g < G; g++) {
        let ms = 0;
        for (let i = 0; i < gs; i++) ms += gated[g * gs + i] ** 2;
        const scale = 1 / Math.sqrt(ms / gs + EPS);
        for (let i = 0; i < gs; i++) gated[g * gs + i] *= scale * w.normWeight[g * gs + i];
      }
      for (let o = 0; o < dModel; o++) {
        let acc = 0;
        for (let i = 0; i < dInner; i++) acc += gated[i] * w.outProjKernel[i * dModel + o];
        output[(b * seq + t) * dModel + o] = acc;
      }
    }
    for (let k = 0; k < dConv - 1; k++) {
      const src = seq - (dConv - 1) + k;
      for (let c = 0; c < cDim; c++) {
        convStateOut[(b * (dConv - 1) + k) * cDim + c] = src >= 0 ? proj[src * dProj + dInner + c] : 0;
      }
    }
    ssmStateOut.set(h, b * H * P * N);
  }
  return {output, convState: convStateOut, ssmState: ssmStateOut};
}
