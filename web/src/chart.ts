// Graphs with uPlot: one canvas, a line per series, fast at 100k points. Series from a
// range query share its step grid, so they are aligned on that grid without a merge.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { h } from "./dom";
import { formatNumber, formatSeries } from "./format";

export interface RangeSeries {
  metric: Record<string, string>;
  values: [number, string][];
}

/** What a drawn graph reports for the render benchmark. */
export interface RenderFigures {
  series: number;
  points: number;
  ms: number;
}

/** A distinct colour per series (golden-angle hues). */
function colour(i: number): string {
  return `hsl(${(i * 137.508) % 360}, 65%, 45%)`;
}

/**
 * Draws `series` into `parent` over [start, end] at `step` seconds; calls `drawn` once the
 * canvas holds the lines, with how long building and drawing took since `since`
 * (a performance.now() time: when the answer arrived).
 */
export function drawGraph(
  parent: HTMLElement,
  series: RangeSeries[],
  start: number,
  end: number,
  step: number,
  since: number,
  drawn: (figures: RenderFigures) => void,
): uPlot {
  const slots = Math.floor((end - start) / step) + 1;
  const xs = new Float64Array(slots);
  for (let i = 0; i < slots; i++) xs[i] = start + i * step;
  let points = 0;
  const ys = series.map((s) => {
    const column: (number | null)[] = new Array(slots).fill(null);
    for (const [t, v] of s.values) {
      const slot = Math.round((t - start) / step);
      if (slot >= 0 && slot < slots) column[slot] = parseSample(v);
    }
    points += s.values.length;
    return column;
  });
  const width = Math.max(300, parent.clientWidth || 900);
  let reported = false;
  const options: uPlot.Options = {
    width,
    height: 360,
    series: [
      { label: "time" },
      ...series.map((s, i) => ({
        label: formatSeries(s.metric),
        stroke: colour(i),
        width: 1.25,
        spanGaps: false,
        points: { show: false },
        value: (_u: uPlot, v: number | null) => (v === null ? "-" : formatNumber(v)),
      })),
    ],
    axes: [{}, { size: 70, values: (_u: uPlot, ticks: number[]) => ticks.map(formatNumber) }],
    legend: { show: series.length <= 20 },
    cursor: { focus: { prox: 16 } },
    hooks: {
      draw: [
        () => {
          if (reported) return;
          reported = true;
          drawn({ series: series.length, points, ms: performance.now() - since });
        },
      ],
    },
  };
  const holder = h("div", { class: "chart", "data-testid": "chart" });
  parent.appendChild(holder);
  return new uPlot(options, [xs as unknown as number[], ...ys] as uPlot.AlignedData, holder);
}

/** A sample's value as the API writes it ("NaN", "+Inf" included). */
export function parseSample(value: string): number | null {
  const parsed = Number(value === "+Inf" ? Infinity : value === "-Inf" ? -Infinity : value);
  return Number.isFinite(parsed) ? parsed : null;
}
