/**
 * Host-side augmentation of 28 x 28 images for `mnist.ts`: a random affine warp (rotation, scale, shear,
 * translation) plus an optional elastic distortion (Simard et al. 2003), resampled bilinearly in one pass, with
 * the background value outside the image. Aimed at writer variation: slant, size and stroke wobble differ between
 * writers far more than between two digits of one writer.
 */

const SIDE = 28;
const PIXELS = SIDE * SIDE;
const CENTRE = (SIDE - 1) / 2;

/** Ranges of the random warp; every draw is uniform in [-x, x] (scale: [1 - scale, 1 + scale]). */
export interface WarpOptions {
  /** Rotation in degrees. */
  rotate: number;
  /** Relative scale change (0.1: 0.9 .. 1.1, drawn separately for x and y when `aspect`). */
  scale: number;
  /** Extra independent x / y scale change (aspect ratio), relative. */
  aspect: number;
  /** Horizontal shear (x += shear * y). */
  shear: number;
  /** Continuous translation in pixels. */
  translate: number;
  /** Integer translation in pixels (the old `--shift`), added to the continuous one. */
  shift: number;
  /** Elastic displacement amplitude in pixels (0: off). */
  elastic: number;
  /** Gaussian smoothing of the elastic field, pixels. */
  elasticSigma: number;
  /** Value outside the image. */
  background: number;
}

/** Whether `o` asks for anything beyond integer shifts (the old, exact pixel-copy path). */
export function needsResampling(o: WarpOptions): boolean {
  return o.rotate > 0 || o.scale > 0 || o.aspect > 0 || o.shear > 0 || o.translate > 0 || o.elastic > 0;
}

const uniform = (a: number) => (2 * Math.random() - 1) * a;

/**
 * A bank of smoothed random displacement fields, each normalised to unit RMS length: drawing a field per image
 * from a bank (and flipping its signs / swapping its axes) costs a lookup instead of two Gaussian blurs.
 */
export class ElasticBank {
  private readonly fields: Float32Array[] = [];  // each [2, 784]: dx then dy

  constructor(count: number, sigma: number) {
    const radius = Math.ceil(3 * sigma);
    const kernel = Float64Array.from({length: 2 * radius + 1},
                                     (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma ** 2)));
    const blur = (src: Float64Array): Float64Array => {  // separable, zero padding as Simard
      const tmp = new Float64Array(PIXELS), out = new Float64Array(PIXELS);
      for (let r = 0; r < SIDE; r++) {
        for (let c = 0; c < SIDE; c++) {
          let s = 0;
          for (let k = Math.max(-radius, -c); k <= Math.min(radius, SIDE - 1 - c); k++) {
            s += kernel[k + radius] * src[r * SIDE + c + k];
          }
          tmp[r * SIDE + c] = s;
        }
      }
      for (let r = 0; r < SIDE; r++) {
        for (let c = 0; c < SIDE; c++) {
          let s = 0;
          for (let k = Math.max(-radius, -r); k <= Math.min(radius, SIDE - 1 - r); k++) {
            s += kernel[k + radius] * tmp[(r + k) * SIDE + c];
          }
          out[r * SIDE + c] = s;
        }
      }
      return out;
    };
    for (let f = 0; f < count; f++) {
      const dx = blur(Float64Array.from({length: PIXELS}, () => uniform(1)));
      const dy = blur(Float64Array.from({length: PIXELS}, () => uniform(1)));
      let ss = 0;
      for (let p = 0; p < PIXELS; p++) ss += dx[p] ** 2 + dy[p] ** 2;
      const norm = 1 / Math.sqrt(ss / PIXELS);
      const field = new Float32Array(2 * PIXELS);
      for (let p = 0; p < PIXELS; p++) {
        field[p] = dx[p] * norm;
        field[PIXELS + p] = dy[p] * norm;
      }
      this.fields.push(field);
    }
  }

  /** A random field from the bank with random sign flips and axis swap, [2, 784]. */
  draw(): {dx: Float32Array; dy: Float32Array; sx: number; sy: number} {
    const field = this.fields[Math.floor(Math.random() * this.fields.length)];
    const a = field.subarray(0, PIXELS), b = field.subarray(PIXELS);
    const swap = Math.random() < 0.5;
    return {dx: swap ? b : a, dy: swap ? a : b, sx: Math.random() < 0.5 ? -1 : 1, sy: Math.random() < 0.5 ? -1 : 1};
  }
}

/**
 * Writes a randomly warped copy of `src` ([784], row-major 28 x 28) into `dst` ([784]). Each output pixel is read
 * from the source at `A^-1 (p - centre - t) + centre + elastic(p)` with bilinear interpolation.
 */
export function warpImage(src: Float32Array, dst: Float32Array, o: WarpOptions, bank?: ElasticBank): void {
  const theta = (uniform(o.rotate) * Math.PI) / 180;
  const s = 1 + uniform(o.scale);
  const sx = s * (1 + uniform(o.aspect)), sy = s * (1 + uniform(o.aspect));
  const sh = uniform(o.shear);
  const intShift = () => (o.shift > 0 ? Math.floor(Math.random() * (2 * o.shift + 1)) - o.shift : 0);
  const tx = intShift() + uniform(o.translate), ty = intShift() + uniform(o.translate);
  // Forward map A = R(theta) [[1, sh], [0, 1]] diag(sx, sy); the source position is A^-1 applied to the output.
  const cos = Math.cos(theta), sin = Math.sin(theta);
  const a00 = cos * sx, a01 = (cos * sh - sin) * sy, a10 = sin * sx, a11 = (sin * sh + cos) * sy;
  const det = a00 * a11 - a01 * a10;
  const i00 = a11 / det, i01 = -a01 / det, i10 = -a10 / det, i11 = a00 / det;
  const el = o.elastic > 0 && bank ? bank.draw() : undefined;
  const bg = o.background;
  const at = (r: number, c: number) => (r >= 0 && r < SIDE && c >= 0 && c < SIDE ? src[r * SIDE + c] : bg);
  for (let r = 0; r < SIDE; r++) {
    for (let c = 0; c < SIDE; c++) {
      const p = r * SIDE + c;
      const u = c - CENTRE - tx, v = r - CENTRE - ty;
      let xs = i00 * u + i01 * v + CENTRE, ys = i10 * u + i11 * v + CENTRE;
      if (el) {
        xs += o.elastic * el.sx * el.dx[p];
        ys += o.elastic * el.sy * el.dy[p];
      }
      const x0 = Math.floor(xs), y0 = Math.floor(ys), fx = xs - x0, fy = ys - y0;
      if (x0 < -1 || x0 >= SIDE || y0 < -1 || y0 >= SIDE) {
        dst[p] = bg;
        continue;
      }
      dst[p] = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) +
               fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1));
    }
  }
}

/**
 * Deskews a 28 x 28 image ([784], values >= `background`) by its second moments, as in LeCun et al.'s MNIST
 * preprocessing: the shear that makes the ink's principal slant vertical, with the centre of mass moved to the
 * image centre. Slant is mostly a property of the writer, so this removes writer variation before training
 * (applied alike to training, validation and test images).
 */
export function deskew(src: Float32Array, background: number): Float32Array {
  let total = 0, mr = 0, mc = 0;
  for (let p = 0; p < PIXELS; p++) {
    const w = src[p] - background;
    total += w;
    mr += w * Math.floor(p / SIDE);
    mc += w * (p % SIDE);
  }
  if (total <= 0) return src.slice();
  mr /= total;
  mc /= total;
  let vrr = 0, vrc = 0;
  for (let p = 0; p < PIXELS; p++) {
    const w = src[p] - background, dr = Math.floor(p / SIDE) - mr, dc = (p % SIDE) - mc;
    vrr += w * dr * dr;
    vrc += w * dr * dc;
  }
  const alpha = vrr > 0 ? vrc / vrr : 0;  // column drift per row
  const dst = new Float32Array(PIXELS);
  const at = (r: number, c: number) => (r >= 0 && r < SIDE && c >= 0 && c < SIDE ? src[r * SIDE + c] : background);
  for (let r = 0; r < SIDE; r++) {
    for (let c = 0; c < SIDE; c++) {
      // source = A (out - centre) + mean, A = [[1, 0], [alpha, 1]] on (row, col)
      const ys = r - CENTRE + mr, xs = alpha * (r - CENTRE) + (c - CENTRE) + mc;
      const x0 = Math.floor(xs), y0 = Math.floor(ys), fx = xs - x0, fy = ys - y0;
      dst[r * SIDE + c] = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) +
                          fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1));
    }
  }
  return dst;
}
