/**
 * Plots as PNG images, drawn by vega-lite (specification -> SVG) and rendered by resvg: learning curves,
 * scatters. No hand-drawn charts.
 *
 * @example
 * ```ts
 * await writeLinePlot('runs/lm/loss.png', [{name: 'train', points: losses.map((y, i) => [i + 1, y])}],
 *                     {title: 'training loss', x: 'step', y: 'nats/char'});
 * ```
 */
import * as fs from 'fs';
import * as path from 'path';
import {Resvg} from '@resvg/resvg-js';

export interface Series {
  name: string;
  points: Array<[number, number]>;
}

export interface PlotOptions {
  title?: string;
  /** Axis titles. */
  x?: string;
  y?: string;
  logY?: boolean;
  width?: number;
  height?: number;
}

// vega and vega-lite are ESM-only (top-level await): load them with a real dynamic import from CommonJS.
const esmImport = new Function('s', 'return import(s)') as (s: string) => Promise<any>;

async function render(spec: object, file: string): Promise<void> {
  const [vega, vl] = await Promise.all([esmImport('vega'), esmImport('vega-lite')]);
  const view = new vega.View(vega.parse(vl.compile(spec).spec), {renderer: 'none'});
  const svg: string = await view.toSVG();
  view.finalize();
  const png = new Resvg(svg, {background: 'white', fitTo: {mode: 'zoom', value: 2}, font: {loadSystemFonts: true}})
      .render().asPng();
  fs.mkdirSync(path.dirname(file), {recursive: true});
  fs.writeFileSync(file, png);
}

function rows(series: Series[]) {
  return series.flatMap(({name, points}) =>
      points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)).map(([x, y]) => ({x, y, series: name})));
}

function encoding(opts: PlotOptions) {
  return {
    x: {field: 'x', type: 'quantitative', title: opts.x ?? 'x'},
    y: {field: 'y', type: 'quantitative', title: opts.y ?? 'y', scale: opts.logY ? {type: 'log'} : {zero: false}},
    color: {field: 'series', type: 'nominal', title: null},
  };
}

/** Writes a line plot of one or more series to `file` (PNG). */
export async function writeLinePlot(file: string, series: Series[], opts: PlotOptions = {}): Promise<void> {
  await render({
    width: opts.width ?? 560, height: opts.height ?? 320, title: opts.title ?? '',
    data: {values: rows(series)}, mark: {type: 'line', strokeWidth: 1.5}, encoding: encoding(opts),
  }, file);
}

/** Writes a scatter plot of one or more point sets to `file` (PNG); `panels` puts each series in its own panel. */
export async function writeScatterPlot(file: string, series: Series[],
                                       opts: PlotOptions & {panels?: boolean; pointSize?: number} = {}): Promise<void> {
  const mark = {type: 'circle', size: opts.pointSize ?? 4, opacity: 0.6};
  const base = {data: {values: rows(series)}, mark, encoding: encoding(opts)};
  await render(opts.panels ? {
    title: opts.title ?? '', ...base,
    width: opts.width ?? 300, height: opts.height ?? 300,
    encoding: {...encoding(opts), column: {field: 'series', type: 'nominal', title: null}},
  } : {width: opts.width ?? 420, height: opts.height ?? 420, title: opts.title ?? '', ...base}, file);
}
