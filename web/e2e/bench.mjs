// The web UI's benchmark (issue #26): first page load (every asset, bytes on the wire and
// time, from a cold cache) and the time from a range query's answer arriving to its graph
// on screen, for 100 series × 1,000 points — Strata's UI beside Prometheus 2.42's own
// (Debian's package serves its classic UI, a Rickshaw SVG graph) on the same data and query,
// measured the same way in the same browser:
//   render = (first animation frame after the chart's lines are in the DOM)
//            − (responseEnd of the /api/v1/query_range request, Resource Timing).
// Strata's own figure (chart.ts: answer parsed → uPlot's draw hook) is printed beside it.
//
// usage: node e2e/bench.mjs [runs] [--strict]   env: STRATA_BIN, PROMETHEUS (default:
// prometheus on PATH), PROMTOOL, CHROMIUM. Prints one JSON object; exits 1 when the first
// load is 1 MB or more, and with --strict also when a time goal is missed (load under 1 s,
// median render under 200 ms).
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort, launchBrowser, startStrata, which } from "./server.mjs";

const runs = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 5);
const root = resolve(import.meta.dirname, "..", "..");
const binary = process.env.STRATA_BIN ?? join(root, "target", "release", "strata");
const SERIES = 100;
const POINTS = 1000;

const work = mkdtempSync(join(tmpdir(), "strata-web-bench-"));
const end = Math.floor(Date.now() / 1000) - 120;
const start = end - (POINTS - 1);
const metrics = join(work, "bench.om");
writeFileSync(metrics, openMetrics());

/** 100 gauges, one sample a second for 1,000 s, as OpenMetrics text (what promtool and
 *  `strata import` both take). */
function openMetrics() {
  const lines = ["# TYPE bench_ui gauge"];
  for (let s = 0; s < SERIES; s++) {
    const id = String(s).padStart(3, "0");
    for (let t = start; t <= end; t++) {
      const v = s + 0.5 * Math.sin((t + s * 7) / 60) + ((t * 2654435761 + s) % 97) / 970;
      lines.push(`bench_ui{series="${id}"} ${v.toFixed(4)} ${t}`);
    }
  }
  lines.push("# EOF", "");
  return lines.join("\n");
}

const strataData = join(work, "strata");
execFileSync(binary, ["import", "--format", "openmetrics", metrics, "--dir", strataData], { stdio: "ignore" });
const strata = await startStrata({ binary, dataset: null, args: [], dataDir: strataData });
const prometheus = await startPrometheus();
const browser = await launchBrowser();

const query = { expr: "bench_ui", start, end, step: 1 };
const strataUi = {
  name: "strata",
  page: `${strata.url}/graph`,
  graph: `${strata.url}/graph?${new URLSearchParams({ expr: query.expr, tab: "graph", range: `${POINTS - 1}s`, end: new Date(end * 1000).toISOString(), step: "1s" })}`,
  lines: "[data-testid=chart] canvas",
};
const prometheusUi = prometheus && {
  name: "prometheus-2.42-classic",
  page: `${prometheus.url}/classic/graph`,
  graph: `${prometheus.url}/classic/graph?${new URLSearchParams({
    "g0.expr": query.expr,
    "g0.tab": "0",
    "g0.stacked": "0",
    "g0.range_input": `${POINTS - 1}s`,
    "g0.end_input": new Date(end * 1000).toISOString().slice(0, 19).replace("T", " "),
    "g0.step_input": "1",
  })}`,
  lines: ".graph_area svg path",
};

const results = {};

try {
  for (const ui of [strataUi, prometheusUi].filter(Boolean)) {
    const loads = [];
    const renders = [];
    const own = [];
    for (let i = 0; i < runs; i++) loads.push(await firstLoad(ui));
    for (let i = 0; i < runs; i++) {
      const r = await render(ui);
      renders.push(r.render);
      if (r.own !== undefined) own.push(r.own);
    }
    results[ui.name] = {
      load_bytes: median(loads.map((l) => l.bytes)),
      load_ms: median(loads.map((l) => l.ms)),
      requests: loads[0].requests,
      render_ms: median(renders),
      render_ms_runs: renders.map((r) => Math.round(r)),
      ...(own.length ? { render_own_ms: median(own) } : {}),
    };
  }
} finally {
  await browser.close();
  await strata.stop();
  if (prometheus) prometheus.stop();
  rmSync(work, { recursive: true, force: true });
}

const s = results.strata;
const p = results["prometheus-2.42-classic"];
const report = {
  series: SERIES,
  points_per_series: POINTS,
  runs,
  ...results,
  ...(p ? { render_ratio_prometheus_over_strata: round(p.render_ms / s.render_ms), load_ratio_prometheus_over_strata: round(p.load_ms / s.load_ms) } : { prometheus: "not measured: prometheus is not installed" }),
  goals: { load_under_1mb: s.load_bytes < 1 << 20, load_under_1s: s.load_ms < 1000, render_under_200ms: s.render_ms < 200 },
};
console.log(JSON.stringify(report, null, 2));
// Bytes are exact; times on a shared machine are not: only `--strict` fails on the time
// goals (read them as ratios to Prometheus' figures from the same run).
const strict = process.argv.includes("--strict");
if (!report.goals.load_under_1mb || (strict && !Object.values(report.goals).every(Boolean))) process.exit(1);
if (!p && process.env.CI === "true") {
  console.error("error: CI needs prometheus for the side-by-side figure");
  process.exit(1);
}

/** A cold-cache load of the UI's query page: bytes over the wire (navigation and every
 *  resource) and the time to the load event. */
async function firstLoad(ui) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(ui.page, { waitUntil: "networkidle" });
  const figures = await page.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0];
    const resources = performance.getEntriesByType("resource");
    return {
      bytes: nav.transferSize + resources.reduce((sum, r) => sum + r.transferSize, 0),
      ms: nav.loadEventEnd - nav.startTime,
      requests: 1 + resources.length,
    };
  });
  await context.close();
  return figures;
}

/** Opens the graph URL and measures from the query's responseEnd to the first frame after
 *  the chart's lines appear. */
async function render(ui) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.addInitScript((selector) => {
    window.__bench = { responseEnd: null, drawn: null };
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        if (entry.name.includes("/api/v1/query_range")) window.__bench.responseEnd = entry.responseEnd;
      }
    }).observe({ type: "resource", buffered: true });
    const observer = new MutationObserver(() => {
      if (window.__bench.drawn === null && document.querySelector(selector)) {
        window.__bench.drawn = -1;
        requestAnimationFrame(() => (window.__bench.drawn = performance.now()));
        observer.disconnect();
      }
    });
    document.addEventListener("DOMContentLoaded", () => observer.observe(document.body, { childList: true, subtree: true }));
  }, ui.lines);
  await page.goto(ui.graph);
  await page.waitForFunction(() => window.__bench.drawn > 0 && window.__bench.responseEnd !== null, null, { timeout: 60_000 });
  // The Resource Timing entry can arrive after the frame; read both once both are in.
  const figures = await page.evaluate(() => ({ render: window.__bench.drawn - window.__bench.responseEnd, own: window.strataLastRender?.ms, points: window.strataLastRender?.points }));
  if (ui.name === "strata" && figures.points !== SERIES * POINTS) throw new Error(`strata drew ${figures.points} points, not ${SERIES * POINTS}`);
  // Prometheus' graph: an SVG path per series (Rickshaw's cardinal curves: a segment per point).
  if (ui.name !== "strata") {
    const segments = await page.evaluate(
      (selector) => [...document.querySelectorAll(selector)].map((p) => (p.getAttribute("d") ?? "").split(/[LC]/).length - 1).sort((a, b) => b - a),
      ui.lines,
    );
    // (Rickshaw drew 944 segments a path here, not 999, for answers holding all 1,000
    // points: the check asks for nine tenths, enough to know the graph is the whole query.)
    figures.segments = segments[SERIES - 1];
    if (segments.length < SERIES || segments[SERIES - 1] < 0.9 * POINTS) throw new Error(`${ui.name} drew ${segments.length} paths; segments: ${segments.slice(0, SERIES + 2)}`);
  }
  await context.close();
  return figures;
}

async function startPrometheus() {
  const binaryPath = process.env.PROMETHEUS ?? which("prometheus");
  const promtool = process.env.PROMTOOL ?? which("promtool");
  if (!binaryPath || !promtool) {
    console.error("prometheus or promtool not found: Strata's UI is measured alone");
    return null;
  }
  const data = join(work, "prometheus");
  execFileSync(promtool, ["tsdb", "create-blocks-from", "openmetrics", metrics, data], { stdio: "ignore" });
  const config = join(work, "prometheus.yml");
  writeFileSync(config, "global:\n  scrape_interval: 1h\nscrape_configs: []\n");
  const port = await freePort();
  const child = spawn(binaryPath, [`--config.file=${config}`, `--storage.tsdb.path=${data}`, `--web.listen-address=127.0.0.1:${port}`, "--storage.tsdb.retention.time=1d"], {
    stdio: ["ignore", "ignore", openSync(join(work, "prometheus.log"), "w")],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${url}/-/ready`)).ok) return { url, stop: () => child.kill("SIGTERM") };
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new Error("prometheus did not become ready");
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return round(sorted[Math.floor(sorted.length / 2)]);
}

function round(v) {
  return Math.round(v * 100) / 100;
}
