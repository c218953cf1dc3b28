// The series browser: every metric name with its type and help, then for one metric its
// label names and values; clicking a value adds a matcher, building a selector that can be
// opened on the query page. State in the URL: metric, and one `m` per matcher (name=value).
import type { Page } from "../main";
import { get } from "../api";
import { append, errorBox, h, replace } from "../dom";
import { formatNumber } from "../format";
import { go, keepState } from "../router";

interface Metadata {
  type: string;
  help: string;
}

export const seriesPage: Page = (root, params) => {
  const filter = h("input", { placeholder: "filter metric names", class: "filter", "data-testid": "metric-filter" });
  const list = h("div", { class: "metric-list", "data-testid": "metric-list" });
  const detail = h("div", { class: "metric-detail", "data-testid": "metric-detail" });
  append(root, h("div", { class: "browser" }, h("div", {}, filter, list), detail));

  let names: string[] = [];
  let metadata: Record<string, Metadata[]> = {};
  const drawList = () => {
    const needle = filter.value.toLowerCase();
    const shown = names.filter((n) => n.toLowerCase().includes(needle));
    replace(
      list,
      h("div", { class: "muted" }, `${shown.length} of ${names.length} metrics`),
      ...shown.slice(0, 500).map((name) =>
        h(
          "div",
          { class: "metric", onclick: () => openMetric(name, []) },
          h("code", {}, name),
          metadata[name] ? h("span", { class: "type" }, metadata[name][0].type) : null,
        ),
      ),
    );
  };
  const openMetric = (metric: string, matchers: [string, string][]) => {
    const state = new URLSearchParams({ metric });
    for (const [name, value] of matchers) state.append("m", `${name}=${value}`);
    keepState(state);
    void drawMetric(detail, metric, matchers, metadata[metric]?.[0], openMetric);
  };
  filter.addEventListener("input", drawList);

  void (async () => {
    try {
      const [values, meta] = await Promise.all([
        get<string[]>("/api/v1/label/__name__/values"),
        get<Record<string, Metadata[]>>("/api/v1/metadata").catch(() => ({ data: {} as Record<string, Metadata[]> })),
      ]);
      names = values.data;
      metadata = meta.data ?? {};
      drawList();
      const metric = params.get("metric");
      if (metric) {
        const matchers = params.getAll("m").map((m) => {
          const at = m.indexOf("=");
          return [m.slice(0, at), m.slice(at + 1)] as [string, string];
        });
        openMetric(metric, matchers);
      }
    } catch (e) {
      replace(list, errorBox(String((e as Error).message)));
    }
  })();
};

function selector(metric: string, matchers: [string, string][]): string {
  if (matchers.length === 0) return metric;
  return `${metric}{${matchers.map(([n, v]) => `${n}=${JSON.stringify(v)}`).join(", ")}}`;
}

async function drawMetric(
  out: HTMLElement,
  metric: string,
  matchers: [string, string][],
  meta: Metadata | undefined,
  reopen: (metric: string, matchers: [string, string][]) => void,
): Promise<void> {
  const expr = selector(metric, matchers);
  replace(out, h("div", { class: "muted" }, "loading…"));
  try {
    const series = await get<Record<string, string>[]>("/api/v1/series", { "match[]": expr });
    const byLabel = new Map<string, Map<string, number>>();
    for (const labels of series.data) {
      for (const [name, value] of Object.entries(labels)) {
        if (name === "__name__") continue;
        const values = byLabel.get(name) ?? new Map<string, number>();
        values.set(value, (values.get(value) ?? 0) + 1);
        byLabel.set(name, values);
      }
    }
    const chosen = new Set(matchers.map(([n]) => n));
    replace(
      out,
      h("h3", {}, h("code", { "data-testid": "selector" }, expr)),
      meta ? h("p", { class: "help" }, h("b", {}, meta.type), " ", meta.help) : null,
      h(
        "p",
        {},
        `${formatNumber(series.data.length)} series · `,
        h("a", { href: "#", "data-testid": "open-query", onclick: (e: Event) => { e.preventDefault(); go("/graph", new URLSearchParams({ expr, tab: "table", range: "1h" })); } }, "open in query"),
        matchers.length ? " · " : null,
        matchers.length ? h("a", { href: "#", onclick: (e: Event) => { e.preventDefault(); reopen(metric, []); } }, "clear filters") : null,
      ),
      ...[...byLabel.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, values]) =>
          h(
            "div",
            { class: "label" },
            h("b", {}, name),
            ` (${values.size})`,
            h(
              "div",
              { class: "values" },
              ...[...values.entries()]
                .sort(([a], [b]) => a.localeCompare(b))
                .slice(0, 200)
                .map(([value, count]) =>
                  h(
                    "button",
                    {
                      class: chosen.has(name) ? "chip chosen" : "chip",
                      title: `${count} series`,
                      onclick: () => reopen(metric, [...matchers.filter(([n]) => n !== name), [name, value]]),
                    },
                    value,
                  ),
                ),
            ),
          ),
        ),
    );
  } catch (e) {
    replace(out, errorBox(String((e as Error).message)));
  }
}
