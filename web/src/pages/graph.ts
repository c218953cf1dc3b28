// The query page: a PromQL (or InfluxQL) editor, graph and table views, a time range, the
// step, the query's warnings, infos and stats. Everything it shows is kept in the URL
// (expr, lang, db, tab, range, end, step), so a copied address restores it.
import type { Page } from "../main";
import { ApiError, post, url } from "../api";
import { append, errorBox, h, replace, table } from "../dom";
import { drawGraph, type RangeSeries, type RenderFigures } from "../chart";
import { promqlEditor } from "../editor";
import { formatNumber, formatSeries, formatTime, parseDuration } from "../format";
import { keepState } from "../router";

interface QueryState {
  expr: string;
  lang: "promql" | "influxql";
  db: string;
  tab: "graph" | "table";
  range: string;
  end: string;
  step: string;
}

function readState(params: URLSearchParams): QueryState {
  return {
    expr: params.get("expr") ?? "",
    lang: params.get("lang") === "influxql" ? "influxql" : "promql",
    db: params.get("db") ?? "",
    tab: params.get("tab") === "table" ? "table" : "graph",
    range: params.get("range") ?? "1h",
    end: params.get("end") ?? "",
    step: params.get("step") ?? "",
  };
}

function writeState(state: QueryState): URLSearchParams {
  const params = new URLSearchParams();
  if (state.expr) params.set("expr", state.expr);
  if (state.lang !== "promql") params.set("lang", state.lang);
  if (state.db) params.set("db", state.db);
  params.set("tab", state.tab);
  params.set("range", state.range);
  if (state.end) params.set("end", state.end);
  if (state.step) params.set("step", state.step);
  return params;
}

/** The window a state asks for, in unix seconds, and its step (auto: about 250 points). */
function timeWindow(state: QueryState): { start: number; end: number; step: number } {
  const end = state.end ? Date.parse(state.end) / 1000 : Date.now() / 1000;
  if (!Number.isFinite(end)) throw new ApiError(`end: ${JSON.stringify(state.end)} is not an RFC 3339 time`);
  const range = parseDuration(state.range);
  if (!Number.isFinite(range) || range <= 0) throw new ApiError(`range: ${JSON.stringify(state.range)} is not a duration`);
  const autoStep = Math.max(1, Math.round(range / 250));
  const step = state.step ? parseDuration(state.step) : autoStep;
  if (!Number.isFinite(step) || step <= 0) throw new ApiError(`step: ${JSON.stringify(state.step)} is not a duration`);
  return { start: end - range, end, step };
}

declare global {
  interface Window {
    /** The last graph's render figures, read by the browser tests and the UI benchmark. */
    strataLastRender?: RenderFigures;
  }
}

export const graphPage: Page = (root, params) => {
  const state = readState(params);
  const results = h("div", { class: "results", "data-testid": "results" });
  const editorHost = h("div", { class: "editor", "data-testid": "editor" });
  const dbInput = h("input", { class: "db", placeholder: "database", value: state.db, title: "InfluxQL database" });
  const rangeInput = h("input", { class: "short", value: state.range, title: "range (e.g. 1h, 30m, 2d)" });
  const endInput = h("input", { class: "time", value: state.end, placeholder: "now", title: "end (RFC 3339; empty: now)" });
  const stepInput = h("input", { class: "short", value: state.step, placeholder: "auto", title: "step (e.g. 15s)" });
  const langSelect = h(
    "select",
    { title: "query language" },
    h("option", { value: "promql", selected: state.lang === "promql" }, "PromQL"),
    h("option", { value: "influxql", selected: state.lang === "influxql" }, "InfluxQL"),
  );
  const tabs = h("div", { class: "tabs" });

  let editor: ReturnType<typeof promqlEditor> | null = null;
  const window_ = {
    start: () => safeWindow().start,
    end: () => safeWindow().end,
  };
  function safeWindow(): { start: number; end: number } {
    try {
      return timeWindow(current());
    } catch {
      const now = Date.now() / 1000;
      return { start: now - 3600, end: now };
    }
  }
  function current(): QueryState {
    return {
      expr: editor ? editor.value() : state.expr,
      lang: langSelect.value === "influxql" ? "influxql" : "promql",
      db: dbInput.value.trim(),
      tab: state.tab,
      range: rangeInput.value.trim() || "1h",
      end: endInput.value.trim(),
      step: stepInput.value.trim(),
    };
  }
  function run(): void {
    Object.assign(state, current());
    keepState(writeState(state));
    drawTabs();
    void execute(state, results);
  }
  function drawTabs(): void {
    replace(
      tabs,
      ...(["graph", "table"] as const).map((tab) =>
        h(
          "button",
          {
            class: tab === state.tab ? "tab active" : "tab",
            "data-testid": `tab-${tab}`,
            onclick: () => {
              state.tab = tab;
              run();
            },
          },
          tab === "graph" ? "Graph" : "Table",
        ),
      ),
    );
  }
  function shiftEnd(direction: number): void {
    const { end } = safeWindow();
    const range = parseDuration(rangeInput.value) || 3600;
    endInput.value = formatTime(end + (direction * range) / 2);
    run();
  }

  langSelect.addEventListener("change", () => {
    dbInput.style.display = langSelect.value === "influxql" ? "" : "none";
  });
  dbInput.style.display = state.lang === "influxql" ? "" : "none";
  for (const input of [rangeInput, endInput, stepInput, dbInput]) {
    input.addEventListener("keydown", (e) => {
      if ((e as KeyboardEvent).key === "Enter") run();
    });
  }

  append(
    root,
    h("div", { class: "query-row" }, langSelect, dbInput, editorHost, h("button", { class: "run", "data-testid": "run", onclick: run }, "Execute")),
    h(
      "div",
      { class: "controls" },
      tabs,
      h("label", {}, "range ", rangeInput),
      h("button", { title: "earlier", onclick: () => shiftEnd(-1) }, "‹"),
      h("label", {}, "end ", endInput),
      h("button", { title: "later", onclick: () => shiftEnd(1) }, "›"),
      h("button", { title: "end now", onclick: () => { endInput.value = ""; run(); } }, "now"),
      h("label", {}, "step ", stepInput),
    ),
    results,
  );
  editor = promqlEditor(editorHost, state.expr, window_, run);
  drawTabs();
  if (state.expr) void execute(state, results);
  return () => editor?.view.destroy();
};

/** Runs the state's query and draws its answer into `out`. */
async function execute(state: QueryState, out: HTMLElement): Promise<void> {
  if (!state.expr.trim()) return replace(out);
  replace(out, h("div", { class: "muted" }, "running…"));
  const started = performance.now();
  try {
    if (state.lang === "influxql") return await executeInfluxql(state, out, started);
    const { start, end, step } = timeWindow(state);
    if (state.tab === "graph") {
      const answer = await post<{ resultType: string; result: RangeSeries[]; stats?: Stats }>("/api/v1/query_range", {
        query: state.expr,
        start: String(start),
        end: String(end),
        step: String(step),
        stats: "all",
      });
      const arrived = performance.now();
      replace(out, annotations(answer.warnings, answer.infos), stats(arrived - started, answer.data.stats, answer.data.result.length));
      if (answer.data.result.length === 0) return append(out, h("div", { class: "muted" }, "empty result"));
      drawGraph(out, answer.data.result, start, end, step, arrived, (figures) => {
        window.strataLastRender = figures;
        out.dataset.rendered = String(figures.points);
        performance.measure("strata:render", { start: arrived, end: arrived + figures.ms });
      });
    } else {
      const answer = await post<InstantData>("/api/v1/query", { query: state.expr, time: String(end), stats: "all" });
      const arrived = performance.now();
      replace(out, annotations(answer.warnings, answer.infos), stats(arrived - started, answer.data.stats, resultSize(answer.data)), instantTable(answer.data));
    }
  } catch (e) {
    replace(out, errorBox(e instanceof Error ? e.message : String(e)));
  }
}

interface Stats {
  samples?: { totalQueryableSamples?: number };
}

type InstantData =
  | { resultType: "vector"; result: { metric: Record<string, string>; value: [number, string] }[]; stats?: Stats }
  | { resultType: "matrix"; result: RangeSeries[]; stats?: Stats }
  | { resultType: "scalar" | "string"; result: [number, string]; stats?: Stats };

function resultSize(data: InstantData): number {
  return data.resultType === "vector" || data.resultType === "matrix" ? data.result.length : 1;
}

function instantTable(data: InstantData): HTMLElement {
  switch (data.resultType) {
    case "vector":
      return table(["series", "value"], data.result.map((s) => [h("code", {}, formatSeries(s.metric)), s.value[1]]), "grid result-table");
    case "matrix":
      return table(
        ["series", "values"],
        data.result.map((s) => [h("code", {}, formatSeries(s.metric)), s.values.map(([t, v]) => `${v} @${t}`).join("\n")]),
        "grid result-table",
      );
    default:
      return table(["type", "value"], [[data.resultType, data.result[1]]], "grid result-table");
  }
}

function annotations(warnings: string[], infos: string[]): HTMLElement {
  return h(
    "div",
    { class: "annotations" },
    ...warnings.map((w) => h("div", { class: "warning", "data-testid": "warning" }, `warning: ${w}`)),
    ...infos.map((i) => h("div", { class: "info", "data-testid": "info" }, `info: ${i}`)),
  );
}

function stats(ms: number, stats: Stats | undefined, series: number): HTMLElement {
  const samples = stats?.samples?.totalQueryableSamples;
  return h(
    "div",
    { class: "stats", "data-testid": "stats" },
    `load time ${Math.round(ms)} ms · result series ${series}`,
    samples !== undefined ? ` · samples read ${formatNumber(samples)}` : "",
  );
}

interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

/** InfluxQL through `/query` (epoch seconds): a table per series, or a graph of its
 *  numeric columns when the first column is time. */
async function executeInfluxql(state: QueryState, out: HTMLElement, started: number): Promise<void> {
  const params: Record<string, string> = { q: state.expr, epoch: "s" };
  if (state.db) params.db = state.db;
  const raw = (await fetchInflux(params)) as { results: { error?: string; series?: InfluxSeries[] }[] };
  const arrived = performance.now();
  const errors = raw.results.filter((r) => r.error).map((r) => r.error!);
  const series = raw.results.flatMap((r) => r.series ?? []);
  replace(out, ...errors.map((e) => errorBox(e)), stats(arrived - started, undefined, series.length));
  if (state.tab === "graph") {
    const graphable = influxGraphSeries(series);
    if (graphable) {
      drawGraph(out, graphable.series, graphable.start, graphable.end, graphable.step, arrived, (figures) => {
        window.strataLastRender = figures;
        out.dataset.rendered = String(figures.points);
      });
      return;
    }
  }
  for (const s of series) {
    const title = s.name + (s.tags ? ` ${formatSeries(s.tags)}` : "");
    append(out, h("h4", {}, title), table(s.columns, s.values.map((row) => row.map((cell) => (cell === null ? "" : String(cell)))), "grid result-table"));
  }
}

/** `/query` answers in InfluxDB's shape (errors inside `results`), not Prometheus' envelope. */
async function fetchInflux(params: Record<string, string>): Promise<unknown> {
  const response = await fetch(url(`/query?${new URLSearchParams(params)}`), { credentials: "same-origin" });
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(`/query: ${response.status} ${text}`);
  }
}

/** Series of (time, number) pairs from InfluxQL answers, on the finest step they share. */
function influxGraphSeries(series: InfluxSeries[]): { series: RangeSeries[]; start: number; end: number; step: number } | null {
  const lines: RangeSeries[] = [];
  const times = new Set<number>();
  for (const s of series) {
    if (s.columns[0] !== "time") return null;
    for (let c = 1; c < s.columns.length; c++) {
      const values: [number, string][] = [];
      for (const row of s.values) {
        const v = row[c];
        if (typeof v === "number") {
          values.push([row[0] as number, String(v)]);
          times.add(row[0] as number);
        }
      }
      if (values.length) lines.push({ metric: { __name__: `${s.name}.${s.columns[c]}`, ...(s.tags ?? {}) }, values });
    }
  }
  const sorted = [...times].sort((a, b) => a - b);
  if (lines.length === 0 || sorted.length < 2) return null;
  let step = Infinity;
  for (let i = 1; i < sorted.length; i++) step = Math.min(step, sorted[i] - sorted[i - 1]);
  const start = sorted[0];
  const end = sorted[sorted.length - 1];
  if ((end - start) / step > 200_000) return null;
  return { series: lines, start, end, step };
}
