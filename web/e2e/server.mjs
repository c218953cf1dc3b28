// A `strata server` holding ../shared/datasets/scrape-1s-A (imported with `strata import`)
// and one always-firing alert, on a free loopback port, for the browser tests and the UI
// benchmark. Everything lives in a temp dir removed on stop.
import { spawn, execFileSync } from "node:child_process";
import { createReadStream, mkdtempSync, rmSync, writeFileSync, openSync } from "node:fs";
import { createInterface } from "node:readline";
import { createGunzip } from "node:zlib";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The dataset's window (its README): 2026-11-24T19:13:03.979Z … 19:37:59.581Z. */
export const DATASET_END = "2026-11-24T19:38:00Z";
export const DATASET_RANGE = "25m";

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

/**
 * Starts the server. `binary`: the strata executable; `dataset`: the .prom.gz file to
 * import (null: none); `dataDir`: a data dir to use as it is (default: a new one in the
 * temp dir). Returns { url, stop, log }.
 */
export async function startStrata({ binary, dataset, args = [], dataDir = null }) {
  const dir = mkdtempSync(join(tmpdir(), "strata-web-"));
  const data = dataDir ?? join(dir, "data");
  if (dataset) {
    const started = Date.now();
    execFileSync(binary, ["import", "--format", "prometheus", dataset, "--dir", data], { stdio: ["ignore", "ignore", "inherit"] });
    console.log(`imported ${dataset} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  const rules = join(dir, "rules.yml");
  writeFileSync(
    rules,
    [
      "groups:",
      "  - name: ui-test",
      "    interval: 1s",
      "    rules:",
      "      - alert: StrataUiTestAlwaysFiring",
      "        expr: vector(1)",
      "        labels: { severity: page }",
      "        annotations:",
      "          summary: An alert that always fires, for the web UI's alerts page",
      "      - record: ui_test:one",
      "        expr: vector(1)",
      "",
    ].join("\n"),
  );
  const port = await freePort();
  const log = join(dir, "server.log");
  const child = spawn(
    binary,
    [
      "server",
      `--listen=127.0.0.1:${port}`,
      `--grpc-listen=127.0.0.1:${await freePort()}`,
      `--data-dir=${data}`,
      "--retention=0",
      `--rule-files=${rules}`,
      ...args,
    ],
    { stdio: ["ignore", "ignore", openSync(log, "w")] },
  );
  const prefix = (args.find((a) => a.startsWith("--web-route-prefix=")) ?? "").split("=")[1] ?? "";
  const url = `http://127.0.0.1:${port}${prefix.replace(/\/+$/, "")}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const response = await fetch(`${url}/-/ready`);
      if (response.ok) break;
    } catch {
      /* not yet */
    }
    if (child.exitCode !== null) throw new Error(`strata server exited (${child.exitCode}); see ${log}`);
    if (Date.now() > deadline) throw new Error(`strata server not ready in 60 s; see ${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  if (dataset) await writeRecentScrape(url, dataset);
  return {
    url,
    log,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => (child.exitCode !== null ? r() : child.on("exit", r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The dataset's first seconds again, moved to the last minute and written through
 * /api/v1/import/prometheus: the head then holds every series of the dataset, as a live
 * server would, for the pages about active series (cardinality, status).
 */
async function writeRecentScrape(url, dataset, lines = 40_000) {
  const input = createInterface({ input: createReadStream(dataset).pipe(createGunzip()), crlfDelay: Infinity });
  const out = [];
  let first = null;
  const shift = Date.now() - 60_000;
  for await (const line of input) {
    if (line.startsWith("#") || !line.trim()) continue;
    const at = line.lastIndexOf(" ");
    const ts = Number(line.slice(at + 1));
    first ??= ts;
    out.push(`${line.slice(0, at)} ${shift + (ts - first)}`);
    if (out.length >= lines) break;
  }
  input.close();
  const response = await fetch(`${url}/api/v1/import/prometheus`, { method: "POST", body: out.join("\n") + "\n" });
  if (!response.ok) throw new Error(`writing the recent scrape: ${response.status} ${await response.text()}`);
}

/**
 * A real etcd (Debian etcd-server) on free loopback ports in a temp dir, for the clustered
 * status page; null when `etcd` is not installed. Returns { url, stop }.
 */
export async function startEtcd() {
  const etcd = which("etcd");
  if (!etcd) return null;
  const dir = mkdtempSync(join(tmpdir(), "strata-web-etcd-"));
  const [client, peer] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const child = spawn(
    etcd,
    ["--data-dir", join(dir, "data"), "--name", "ui", "--listen-client-urls", url, "--advertise-client-urls", url,
     "--listen-peer-urls", peerUrl, "--initial-advertise-peer-urls", peerUrl, "--initial-cluster", `ui=${peerUrl}`],
    { stdio: ["ignore", "ignore", openSync(join(dir, "etcd.log"), "w")] },
  );
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      /* not yet */
    }
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`etcd did not start; see ${dir}/etcd.log`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    async stop() {
      child.kill("SIGKILL");
      await new Promise((r) => (child.exitCode !== null ? r() : child.on("exit", r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Chromium headless as the machine's probe starts it (no sandbox as root, no background
 *  networking: this machine's network is closed). */
export async function launchBrowser() {
  const { chromium } = await import("playwright-core");
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

export function which(command) {
  try {
    return execFileSync("sh", ["-c", `command -v ${command}`]).toString().trim();
  } catch {
    return "";
  }
}
