/** Curves drawn by uPlot: a live-updating line chart. */
import uPlot from 'uplot';

export interface LineChart {
  /** Replaces the data: `xs` and one `ys` array per series. */
  set(xs: number[], ...ys: number[][]): void;
}

/** A line chart in `parent` with one line per entry of `series`. */
export function lineChart(parent: HTMLElement, title: string, series: string[],
                          {width = 600, height = 240, logY = false, xLabel = ''} = {}): LineChart {
  const colors = ['#2f6fdf', '#e0662d', '#1c9a55', '#9b3fc4'];
  const plot = new uPlot({
    title, width, height,
    scales: {x: {time: false}, y: logY ? {distr: 3} : {}},
    axes: [{label: xLabel},
           logY ? {values: (_u: uPlot, ticks: number[]) => ticks.map((v) => (v == null ? '' : v.toExponential(0)))} : {}],
    // not live: a live legend shows the x value and each series' value under the cursor, "Value: --" in a still
    legend: {show: series.length > 1, live: false},
    series: [{}, ...series.map((label, i) => ({label, stroke: colors[i % colors.length], width: 1.5}))],
  }, [[], ...series.map(() => [])], parent);
  return {set: (xs, ...ys) => plot.setData([xs, ...ys])};
}
