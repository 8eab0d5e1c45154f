/**
 * Image grids as PNG files (pngjs): sample grids of digits, garments, ... .
 *
 * @example
 * ```ts
 * writeImageGrid('runs/bfn/samples.png', samples, {width: 28, height: 28, cols: 10, scale: 2});
 * ```
 */
import * as fs from 'fs';
import * as path from 'path';
import {PNG} from 'pngjs';

export interface GridOptions {
  /** Pixels per image side. */
  width: number;
  height: number;
  /** 1: grey, 3: RGB (interleaved per pixel). */
  channels?: 1 | 3;
  /** Images per row. */
  cols?: number;
  /** Each pixel drawn as scale x scale. */
  scale?: number;
  /** Pixels between images (drawn white). */
  padding?: number;
}

/** Writes `images` (values in [0, 1], row-major, `channels` per pixel) as one grid to `file` (PNG). */
export function writeImageGrid(file: string, images: ArrayLike<number>[], opts: GridOptions): void {
  const {width, height, channels = 1, scale = 1, padding = 2} = opts;
  const cols = Math.max(1, Math.min(opts.cols ?? Math.ceil(Math.sqrt(images.length)), images.length));
  const rows = Math.ceil(images.length / cols);
  const cellW = width * scale + padding, cellH = height * scale + padding;
  const png = new PNG({width: cols * cellW + padding, height: rows * cellH + padding});
  png.data.fill(255);
  images.forEach((img, n) => {
    if (img.length !== width * height * channels) {
      throw new Error(`writeImageGrid: image ${n} has ${img.length} values, expected ${width * height * channels}`);
    }
    const ox = padding + (n % cols) * cellW, oy = padding + Math.floor(n / cols) * cellH;
    for (let y = 0; y < height * scale; y++) {
      for (let x = 0; x < width * scale; x++) {
        const p = (Math.floor(y / scale) * width + Math.floor(x / scale)) * channels;
        const o = ((oy + y) * png.width + ox + x) * 4;
        for (let c = 0; c < 3; c++) {
          const v = img[p + (channels === 3 ? c : 0)];
          png.data[o + c] = Math.round(255 * Math.min(1, Math.max(0, v)));
        }
        png.data[o + 3] = 255;
      }
    }
  });
  fs.mkdirSync(path.dirname(file), {recursive: true});
  fs.writeFileSync(file, PNG.sync.write(png));
}
