// The web UI in a real browser (Debian's chromium, driven by playwright-core), against a
// strata server holding ../shared/datasets/scrape-1s-A. Issue #26's checks:
// every page loads with no console errors; a range query draws its graph (the screenshot's
// pixels are checked for plotted lines); autocomplete offers a metric name after two
// letters; a shared URL restores the query; the alerts page shows a firing alert.
// Screenshots of every page go to $SCREENSHOTS (default ../target/web-screenshots).
//
// env: STRATA_BIN (default ../target/release/strata), STRATA_SHARED_DIR (for the dataset),
// CHROMIUM (default /usr/bin/chromium). Exit status 1 when a check fails.
import { mkdirSync, writeFileSync, existsSync } from "node:fs";
import { resolve, join } from "node:path";
import { PNG } from "pngjs";
import { startStrata, startEtcd, launchBrowser, DATASET_END, DATASET_RANGE } from "./server.mjs";

const root = resolve(import.meta.dirname, "..", "..");
const binary = process.env.STRATA_BIN ?? join(root, "target", "release", "strata");
const shared = process.env.STRATA_SHARED_DIR;
const shots = process.env.SCREENSHOTS ?? join(root, "target", "web-screenshots");
mkdirSync(shots, { recursive: true });

if (!shared) {
  if (process.env.CI === "true") {
    console.error("error: STRATA_SHARED_DIR is not set; CI needs the dataset for the browser tests");
    process.exit(1);
  }
  console.error("SKIPPED: the web UI browser tests need STRATA_SHARED_DIR (../shared) for scrape-1s-A");
  process.exit(0);
}
for (const [what, path] of [["strata binary", binary], ["chromium", process.env.CHROMIUM ?? "/usr/bin/chromium"]]) {
  if (!existsSync(path)) {
    console.error(`error: the ${what} is missing at ${path}`);
    process.exit(1);
  }
}

const failures = [];
async function check(name, body) {
  const started = Date.now();
  try {
    await body();
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    failures.push(name);
    console.log(`FAIL ${name}: ${e?.stack ?? e}`);
  }
}
function assert(condition, message) {
  if (!condition) throw new Error(message);
}

const server = await startStrata({ binary, dataset: join(shared, "datasets", "scrape-1s-A.prom.gz") });
const browser = await launchBrowser();
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });

/** A page that records console errors and uncaught exceptions. */
async function openPage(path) {
  const page = await context.newPage();
  const errors = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(server.url + path, { waitUntil: "load" });
  return { page, errors };
}

const graphQuery = new URLSearchParams({
  expr: "rate(process_cpu_seconds_total[1m])",
  tab: "graph",
  range: DATASET_RANGE,
  end: DATASET_END,
}).toString();

try {
  await check("query page: a range query draws its graph (plotted pixels in the screenshot)", async () => {
    const { page, errors } = await openPage(`/graph?${graphQuery}`);
    await page.waitForSelector("[data-rendered]", { timeout: 30_000 });
    const stats = await page.textContent("[data-testid=stats]");
    assert(/result series [1-9]/.test(stats), `stats: ${stats}`);
    assert(/samples read [1-9]/.test(stats), `stats: ${stats}`);
    const png = await page.locator("[data-testid=chart] canvas").screenshot({ path: join(shots, "graph-chart.png") });
    const plotted = plottedPixels(PNG.sync.read(png));
    assert(plotted.pixels > 2000 && plotted.columns > 0.5, `too few plotted pixels: ${JSON.stringify(plotted)}`);
    await page.screenshot({ path: join(shots, "graph.png"), fullPage: true });
    assert(errors.length === 0, `console errors: ${errors.join(" | ")}`);
  });

  await check("query page: table view of an instant query, with its warnings shown", async () => {
    const { page, errors } = await openPage(`/graph?${new URLSearchParams({ expr: 'rate(up{job="node"}[1m])', tab: "table", range: "1h", end: DATASET_END })}`);
    await page.waitForSelector(".result-table");
    const rows = await page.locator(".result-table tbody tr").count();
    assert(rows >= 1, `table rows: ${rows}`);
    assert(errors.length === 0, `console errors: ${errors.join(" | ")}`);
  });

  await check("query page: autocomplete offers a metric name after two letters", async () => {
    const { page, errors } = await openPage(`/graph?${new URLSearchParams({ range: DATASET_RANGE, end: DATASET_END })}`);
    await page.click("[data-testid=editor] .cm-content");
    await page.keyboard.type("pr", { delay: 50 });
    const option = page.locator(".cm-tooltip-autocomplete li", { hasText: "process_cpu_seconds_total" });
    await option.first().waitFor({ timeout: 10_000 });
    await page.screenshot({ path: join(shots, "autocomplete.png") });
    assert(errors.length === 0, `console errors: ${errors.join(" | ")}`);
  });

  await check("query page: a shared URL restores the query, its range and its graph", async () => {
    const { page } = await openPage(`/graph?${new URLSearchParams({ range: "10m", end: DATASET_END })}`);
    await page.click("[data-testid=editor] .cm-content");
    await page.keyboard.type('sum by (job) (rate(process_cpu_seconds_total[1m]))');
    await page.keyboard.press("Escape");
    await page.click("[data-testid=run]");
    await page.waitForSelector("[data-rendered]", { timeout: 30_000 });
    const shared = page.url();
    const fresh = await context.newPage();
    await fresh.goto(shared);
    await fresh.waitForSelector("[data-rendered]", { timeout: 30_000 });
    const expr = await fresh.textContent("[data-testid=editor] .cm-content");
    assert(expr === "sum by (job) (rate(process_cpu_seconds_total[1m]))", `restored expression: ${expr}`);
    const range = await fresh.inputValue("input[title^=range]");
    const end = await fresh.inputValue("input[title^=end]");
    assert(range === "10m" && end === DATASET_END, `restored range ${range}, end ${end}`);
    const series = await fresh.evaluate(() => window.strataLastRender?.series);
    assert(series >= 2, `restored graph has ${series} series`);
  });

  await check("series browser: metrics, then a metric's labels, then a click-to-filter selector", async () => {
    const { page, errors } = await openPage("/series");
    await page.waitForSelector("[data-testid=metric-list] .metric");
    await page.fill("[data-testid=metric-filter]", "process_cpu_seconds");
    await page.locator(".metric", { hasText: "process_cpu_seconds_total" }).first().click();
    await page.waitForSelector(".label .chip");
    await page.locator(".label", { hasText: "job" }).locator(".chip", { hasText: "node" }).first().click();
    await page.waitForFunction(() => document.querySelector("[data-testid=selector]")?.textContent?.includes('job="node"'));
    await page.screenshot({ path: join(shots, "series.png"), fullPage: true });
    assert(page.url().includes("m=job%3Dnode"), `the selector is kept in the URL: ${page.url()}`);
    assert(errors.length === 0, `console errors: ${errors.join(" | ")}`);
  });

  await check("cardinality explorer: top metrics with bars", async () => {
    const { page, errors } = await openPage("/cardinality");
    await page.waitForSelector("[data-testid=cardinality] table");
    const text = await page.textContent("[data-testid=cardinality]");
    assert(text.includes("Top metrics") && /\d/.test(text), "no figures");
    const bars = await page.locator(".bar-fill").count();
    assert(bars >= 10, `bars: ${bars}`);
    await page.screenshot({ path: join(shots, "cardinality.png"), fullPage: true });
    assert(errors.length === 0, `console errors: ${errors.join(" | ")}`);
  });

  await check("alerts page: a firing alert with its annotation", async () => {
    let firing = 0;
    let page;
    let errors;
    for (let attempt = 0; attempt < 20 && firing === 0; attempt++) {
      ({ page, errors } = await openPage("/alerts"));
      await page.waitForSelector("[data-testid=rules] .group");
      firing = await page.locator("[data-testid=rule-firing]").count();
      if (firing === 0) {
        await page.close();
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    assert(firing === 1, `firing rules: ${firing}`);
    const text = await page.textContent("[data-testid=rule-firing]");
    assert(text.includes("StrataUiTestAlwaysFiring") && text.includes("An alert that always fires"), text);
    await page.screenshot({ path: join(shots, "alerts.png"), fullPage: true });
    assert(errors.length === 0, `console errors: ${errors.join(" | ")}`);
  });

  await check("status page: health, storage, shards and flags", async () => {
    const { page, errors } = await openPage("/status");
    await page.waitForSelector("[data-testid=health]");
    const text = await page.textContent("[data-testid=status]");
    for (const word of ["healthy", "total series", "Shards", "Rollup tiers", "Flags", "retention"]) {
      assert(text.includes(word), `no "${word}" on the status page`);
    }
    await page.screenshot({ path: join(shots, "status.png"), fullPage: true });
    assert(errors.length === 0, `console errors: ${errors.join(" | ")}`);
  });

  await check("query page: InfluxQL mode, as a table and as a graph", async () => {
    const now = Math.floor(Date.now() / 1000);
    const lines = [];
    for (let i = 0; i < 30; i++) {
      for (const host of ["a", "b"]) lines.push(`cpu,host=${host} usage_idle=${(host === "a" ? 90 : 40) + (i % 7)} ${(now - 300 + i * 10) * 1e9}`);
    }
    const written = await fetch(`${server.url}/write?db=telegraf`, { method: "POST", body: lines.join("\n") });
    assert(written.status === 204, `line protocol write: ${written.status}`);
    const q = "SELECT mean(usage_idle) FROM cpu WHERE time > now() - 10m GROUP BY time(10s), host";
    const { page, errors } = await openPage(`/graph?${new URLSearchParams({ expr: q, lang: "influxql", db: "telegraf", tab: "table" })}`);
    await page.waitForSelector(".result-table");
    const tables = await page.locator(".result-table").count();
    assert(tables === 2, `one table per host, got ${tables}`);
    await page.click("[data-testid=tab-graph]");
    await page.waitForSelector("[data-rendered]", { timeout: 30_000 });
    const drawn = await page.evaluate(() => window.strataLastRender);
    assert(drawn.series === 2 && drawn.points === 60, `graph: ${JSON.stringify(drawn)}`);
    await page.screenshot({ path: join(shots, "influxql.png"), fullPage: true });
    assert(errors.length === 0, `console errors: ${errors.join(" | ")}`);
  });

  await check("under --web-route-prefix and a tenant's /tenant/<id>/ prefix, pages and queries stay there", async () => {
    const prefixed = await startStrata({ binary, dataset: null, args: ["--web-route-prefix=/strata", "--multi-tenant"] });
    try {
      const now = Math.floor(Date.now() / 1000) * 1000;
      for (const [tenant, jobs] of [["acme", ["api", "db"]], ["other", ["leak"]]]) {
        const body = jobs.flatMap((job) => [0, 15, 30].map((s) => `tenant_metric{job="${job}"} 1 ${now - 60_000 + s * 1000}`)).join("\n") + "\n";
        const r = await fetch(`${prefixed.url}/tenant/${tenant}/api/v1/import/prometheus`, { method: "POST", body });
        assert(r.ok, `write for ${tenant}: ${r.status}`);
      }
      const page = await context.newPage();
      const errors = [];
      page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
      await page.goto(`${prefixed.url}/tenant/acme/graph?${new URLSearchParams({ expr: "tenant_metric", tab: "graph", range: "5m" })}`);
      await page.waitForSelector("[data-rendered]", { timeout: 30_000 });
      const series = await page.evaluate(() => window.strataLastRender.series);
      assert(series === 2, `acme sees ${series} series (2 are its own)`);
      const legend = await page.textContent("[data-testid=chart]");
      assert(!legend.includes("leak"), "another tenant's series on acme's graph");
      await page.click("#nav a:has-text('Series')");
      await page.waitForSelector("[data-testid=metric-list] .metric");
      assert(page.url().startsWith(`${prefixed.url}/tenant/acme/series`), `navigation left the prefix: ${page.url()}`);
      await page.goto(`${prefixed.url}/status`);
      await page.waitForSelector("[data-testid=health]");
      assert(errors.length === 0, `console errors: ${errors.join(" | ")}`);
    } finally {
      await prefixed.stop();
    }
  });

  await check("clustered, the status page shows the ring and re-replication", async () => {
    const etcd = await startEtcd();
    if (!etcd) {
      if (process.env.CI === "true") throw new Error("etcd is missing (apt-get install etcd-server)");
      console.log("SKIPPED: etcd is not installed (apt-get install etcd-server)");
      return;
    }
    let node = null;
    try {
      node = await startStrata({ binary, dataset: null, args: [`--cluster-etcd=${etcd.url}`, "--node-id=ui-1", "--replication-factor=1"] });
      const page = await context.newPage();
      const errors = [];
      page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
      await page.goto(`${node.url}/status`);
      await page.waitForSelector("[data-testid=cluster]", { timeout: 30_000 });
      const text = await page.textContent("[data-testid=cluster]");
      for (const expected of ["ui-1", "active", "reachable", "passes", "100.0%"]) {
        assert(text.includes(expected), `cluster section lacks ${expected}: ${text}`);
      }
      await page.screenshot({ path: join(shots, "status-cluster.png"), fullPage: true });
      assert(errors.length === 0, `console errors: ${errors.join(" | ")}`);
    } finally {
      if (node) await node.stop();
      await etcd.stop();
    }
  });

  await check("no request leaves the machine", async () => {
    const { page } = await openPage(`/graph?${graphQuery}`);
    const outside = [];
    page.on("request", (r) => !r.url().startsWith(server.url.replace(/\/[^/]*$/, "")) && outside.push(r.url()));
    await page.reload({ waitUntil: "networkidle" });
    const loaded = await page.evaluate(() => performance.getEntriesByType("resource").map((e) => e.name));
    const foreign = [...outside, ...loaded.filter((u) => !u.startsWith("http://127.0.0.1"))];
    assert(foreign.length === 0, `requests elsewhere: ${foreign.join(", ")}`);
  });
} finally {
  await browser.close();
  await server.stop();
}

/** Pixels of a plot that are lines, not background, grid or text: saturated colours
 *  (uPlot's axes and grid are grey, the series are coloured), and the share of the image's
 *  columns they reach (a line across the graph, not a dot). */
function plottedPixels(png) {
  let pixels = 0;
  const columns = new Set();
  for (let y = 0; y < png.height; y++) {
    for (let x = 0; x < png.width; x++) {
      const i = (y * png.width + x) * 4;
      const [r, g, b] = [png.data[i], png.data[i + 1], png.data[i + 2]];
      if (Math.max(r, g, b) - Math.min(r, g, b) > 60) {
        pixels++;
        columns.add(x);
      }
    }
  }
  return { pixels, columns: columns.size / png.width };
}

console.log(`screenshots in ${shots}`);
if (failures.length) {
  console.log(`${failures.length} browser check(s) failed: ${failures.join("; ")}`);
  process.exit(1);
}
console.log("web UI browser tests: all passed");
