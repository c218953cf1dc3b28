// Status: version and uptime, health, storage figures, ingestion and queries, resource use
// and limits, shards with their tiers, rollup tiers with their lag, tenants, the cluster's
// ring and re-replication when clustered, and the flags the server runs with
// (/admin/status, /api/v1/status/retention, /api/v1/status/rollups,
// /api/v1/status/cluster, /api/v1/status/buildinfo, /api/v1/status/flags).
import type { Page } from "../main";
import { get, getRaw } from "../api";
import { append, errorBox, h, replace, table } from "../dom";
import { formatBytes, formatNumber, formatSeconds, formatTime } from "../format";

type Figures = Record<string, unknown>;

interface AdminStatus {
  status: string;
  version: string;
  uptime_seconds: number;
  reasons: string[];
  storage: Figures;
  ingestion: Figures;
  query: Figures;
  memory: Figures;
  limits: Figures;
  tenants: Figures[];
}

interface Shard {
  start?: string;
  startMs: number;
  endMs: number;
  tier?: string;
  blocks?: number;
  series?: number;
  samples?: number;
  bytes?: number;
}

interface Retention {
  retention: string;
  shardDuration: string;
  shards: Shard[];
}

interface Rollups {
  enabled: boolean;
  tiers: { resolution: string; keep: string; span: string; lag_seconds: number | null; segments: number; bytes: number; watermark: number | null }[];
}

interface Cluster {
  enabled: boolean;
  node?: string;
  replicationFactor?: number;
  etcd?: { reachable: boolean; error?: string };
  members?: { id: string; addr: string; zone?: string; state: string; tokens: number; ownership: number }[];
  repair?: {
    state: string;
    passes: number;
    lastError?: string;
    seriesSentTotal: number;
    samplesSentTotal: number;
    pass: { series: number; examined: number };
  };
}

export const statusPage: Page = (root) => {
  const body = h("div", { "data-testid": "status" }, h("div", { class: "muted" }, "loading…"));
  append(root, h("h2", {}, "Status"), body);
  void (async () => {
    try {
      const [admin, build, retention, rollups, flags, cluster] = await Promise.all([
        getRaw<AdminStatus>("/admin/status"),
        get<{ version: string; revision: string }>("/api/v1/status/buildinfo"),
        get<Retention>("/api/v1/status/retention"),
        get<Rollups>("/api/v1/status/rollups"),
        get<Record<string, string>>("/api/v1/status/flags"),
        get<Cluster>("/api/v1/status/cluster"),
      ]);
      draw(body, admin, build.data, retention.data, rollups.data, flags.data);
      if (cluster.data.enabled) body.insertBefore(clusterSection(cluster.data), body.lastElementChild?.previousElementSibling ?? null);
    } catch (e) {
      replace(body, errorBox((e as Error).message));
    }
  })();
};

function draw(out: HTMLElement, admin: AdminStatus, build: { version: string; revision: string }, retention: Retention, rollups: Rollups, flags: Record<string, string>): void {
  replace(
    out,
    section("Server", {
      health: h("span", { class: admin.status === "healthy" ? "state-ok" : "state-firing", "data-testid": "health" }, admin.status),
      version: `${build.version} (${build.revision})`,
      uptime: formatSeconds(admin.uptime_seconds),
      ...(admin.reasons.length ? { reasons: admin.reasons.join("; ") } : {}),
    }),
    section("Storage", figures(admin.storage)),
    section("Ingestion", figures(admin.ingestion)),
    section("Queries", figures(admin.query)),
    section("Memory", figures(admin.memory)),
    section("Limits and resources", figures(admin.limits)),
    h("h3", {}, `Shards (retention ${retention.retention || "forever"}, shard ${retention.shardDuration})`),
    table(
      ["start", "end", "tier", "blocks", "series", "samples", "bytes"],
      retention.shards.map((s) => [
        s.start ?? formatTime(s.startMs / 1000),
        formatTime(s.endMs / 1000),
        s.tier ? h("span", { class: `tier tier-${s.tier.toLowerCase()}` }, s.tier) : "-",
        s.blocks ?? "-",
        s.series === undefined ? "-" : formatNumber(s.series),
        s.samples === undefined ? "-" : formatNumber(s.samples),
        s.bytes === undefined ? "-" : formatBytes(s.bytes),
      ]),
    ),
    h("h3", {}, "Rollup tiers"),
    rollups.enabled
      ? table(
          ["resolution", "keep", "span", "complete to", "lag", "segments", "bytes"],
          rollups.tiers.map((t) => [t.resolution, t.keep, t.span, t.watermark === null ? "-" : formatTime(t.watermark / 1000), t.lag_seconds === null ? "-" : formatSeconds(t.lag_seconds), t.segments, formatBytes(t.bytes)]),
        )
      : h("p", { class: "muted" }, "no rollup tiers configured (--rollup-tiers)"),
    admin.tenants.length ? h("h3", {}, "Tenants") : null,
    admin.tenants.length
      ? table(
          Object.keys(admin.tenants[0]),
          admin.tenants.map((t) => Object.values(t).map((v) => (typeof v === "number" ? formatNumber(v) : String(v ?? "-")))),
        )
      : null,
    h("h3", {}, "Flags"),
    table(["flag", "value"], Object.entries(flags).map(([name, value]) => [h("code", {}, name), h("code", {}, value)])),
  );
}

/** The ring as this node sees it, and what re-replication is doing here. */
function clusterSection(c: Cluster): HTMLElement {
  const repair = c.repair;
  const progress = repair && repair.state === "running" && repair.pass.series > 0 ? ` ${Math.floor((100 * repair.pass.examined) / repair.pass.series)}%` : "";
  return h(
    "section",
    { "data-testid": "cluster" },
    section("Cluster", {
      node: c.node ?? "-",
      replication_factor: String(c.replicationFactor ?? "-"),
      etcd: c.etcd?.reachable ? "reachable" : `unreachable${c.etcd?.error ? `: ${c.etcd.error}` : ""}`,
      "re-replication": repair ? `${repair.state}${progress} — ${repair.passes} passes, ${formatNumber(repair.seriesSentTotal)} series and ${formatNumber(repair.samplesSentTotal)} samples sent${repair.lastError ? `; ${repair.lastError}` : ""}` : "-",
    }),
    table(
      ["member", "address", "zone", "state", "tokens", "ring share"],
      (c.members ?? []).map((m) => [
        m.id,
        m.addr,
        m.zone ?? "-",
        h("span", { class: m.state === "active" ? "state-ok" : "state-firing" }, m.state),
        m.tokens,
        `${(100 * m.ownership).toFixed(1)}%`,
      ]),
    ),
  );
}

function section(title: string, rows: Record<string, Node | string>): HTMLElement {
  return h(
    "section",
    { class: "status-section" },
    h("h3", {}, title),
    table(["", ""], Object.entries(rows).map(([name, value]) => [name.replace(/_/g, " "), value]), "grid kv"),
  );
}

/** A figure as people read it: bytes in KiB/MiB, counts with separators. */
function figures(values: Figures): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) {
    if (typeof value === "number") out[name] = name.endsWith("bytes") ? formatBytes(value) : formatNumber(value);
    else out[name] = value === null || value === undefined ? "-" : String(value);
  }
  return out;
}
