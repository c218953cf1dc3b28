// The cardinality explorer: total series and growth, the hourly history as a chart, the
// top metrics, labels and label-value pairs with bars, labels worth a look, the limits with
// what they refused, and a 30-day forecast (from /api/v1/cardinality and /api/v1/status/tsdb).
import uPlot from "uplot";
import type { Page } from "../main";
import { get } from "../api";
import { append, bar, errorBox, h, replace, table } from "../dom";
import { formatNumber } from "../format";
import { go } from "../router";

interface Report {
  total_series: number;
  growth_per_hour: number;
  top: { metric: string; series: number; share: number }[];
  labels: { level: string; metric: string; label: string; unique_values: number; ephemeral: boolean; recommendation: string }[];
  limits: { limit: string; max: number; current: number; state: string; rejected_last_hour: number; rejected_total: number }[];
  forecast: { days: number; method: string; series: number; low: number; high: number; per_day: number; warnings: string[] } | null;
  growth: { hour: number; series: number; created: number }[];
}

interface Entry {
  name: string;
  value: number;
}

interface TsdbStatus {
  labelValueCountByLabelName: Entry[];
  seriesCountByLabelValuePair: Entry[];
}

export const cardinalityPage: Page = (root) => {
  const body = h("div", { "data-testid": "cardinality" }, h("div", { class: "muted" }, "loading…"));
  append(root, h("h2", {}, "Cardinality"), body);
  void (async () => {
    try {
      const [report, tsdb] = await Promise.all([
        get<Report>("/api/v1/cardinality", { topN: "20", days: "30" }),
        get<TsdbStatus>("/api/v1/status/tsdb", { limit: "20" }),
      ]);
      draw(body, report.data, tsdb.data);
    } catch (e) {
      replace(body, errorBox((e as Error).message));
    }
  })();
};

function draw(out: HTMLElement, report: Report, tsdb: TsdbStatus): void {
  const total = Math.max(1, report.total_series);
  replace(
    out,
    h(
      "div",
      { class: "cards" },
      card("series", formatNumber(report.total_series)),
      card("new series / hour (24h)", formatNumber(Math.round(report.growth_per_hour))),
      report.forecast ? card(`in ${report.forecast.days} days`, `${formatNumber(report.forecast.series)} (${formatNumber(report.forecast.low)}–${formatNumber(report.forecast.high)})`) : null,
    ),
    h("h3", {}, "Growth"),
    growthChart(report.growth),
    h("h3", {}, "Top metrics"),
    table(
      ["metric", "series", "share", ""],
      report.top.map((c) => [
        h("a", { href: "#", onclick: (e: Event) => { e.preventDefault(); go("/series", new URLSearchParams({ metric: c.metric })); } }, h("code", {}, c.metric)),
        formatNumber(c.series),
        `${c.share.toFixed(1)}%`,
        bar(c.series / total),
      ]),
    ),
    h("h3", {}, "Labels by unique values"),
    entriesTable("label", tsdb.labelValueCountByLabelName),
    h("h3", {}, "Label-value pairs by series"),
    entriesTable("pair", tsdb.seriesCountByLabelValuePair),
    report.labels.length ? h("h3", {}, "Labels worth a look") : null,
    report.labels.length
      ? table(
          ["level", "metric", "label", "values", "advice"],
          report.labels.map((l) => [l.level, h("code", {}, l.metric), h("code", {}, l.label), formatNumber(l.unique_values), l.recommendation]),
        )
      : null,
    h("h3", {}, "Limits"),
    report.limits.length
      ? table(
          ["limit", "current / max", "", "state", "refused last hour", "refused total"],
          report.limits.map((l) => [l.limit, `${formatNumber(l.current)} / ${formatNumber(l.max)}`, bar(l.current / Math.max(1, l.max)), h("span", { class: `state-${l.state}` }, l.state), formatNumber(l.rejected_last_hour), formatNumber(l.rejected_total)]),
        )
      : h("p", { class: "muted" }, "no series limits are set (--max-series, [limits] in the config)"),
    report.forecast && report.forecast.warnings.length ? h("h3", {}, "Forecast warnings") : null,
    ...(report.forecast?.warnings ?? []).map((w) => h("div", { class: "warning" }, w)),
  );
}

function card(title: string, value: string): HTMLElement {
  return h("div", { class: "card" }, h("div", { class: "card-title" }, title), h("div", { class: "card-value" }, value));
}

function entriesTable(what: string, entries: Entry[]): HTMLElement {
  const most = Math.max(1, ...entries.map((e) => e.value));
  return table([what, "count", ""], entries.map((e) => [h("code", {}, e.name), formatNumber(e.value), bar(e.value / most)]));
}

/** Active series per hour, from the tracker's history. */
function growthChart(points: Report["growth"]): HTMLElement {
  const holder = h("div", { class: "chart", "data-testid": "growth-chart" });
  if (points.length < 2) {
    holder.appendChild(h("p", { class: "muted" }, `${points.length} hour(s) of history so far; the chart starts with two.`));
    return holder;
  }
  const xs = points.map((p) => p.hour / 1000);
  requestAnimationFrame(() => {
    new uPlot(
      {
        width: Math.max(300, holder.clientWidth || 800),
        height: 200,
        series: [{}, { label: "series", stroke: "hsl(210, 65%, 45%)", width: 1.5 }, { label: "created", stroke: "hsl(30, 80%, 50%)", width: 1 }],
        axes: [{}, { size: 70, values: (_u, ticks) => ticks.map(formatNumber) }],
      },
      [xs, points.map((p) => p.series), points.map((p) => p.created)],
      holder,
    );
  });
  return holder;
}
