// Alerts and rules: every group with its rules, each rule's state (inactive, pending,
// firing) and since when, its last evaluation and error, and the alerts it holds with their
// annotations (from /api/v1/rules). Filters by state are kept in the URL (`state`).
import type { Page } from "../main";
import { get } from "../api";
import { append, errorBox, h, replace } from "../dom";
import { ago, formatSeries } from "../format";
import { go, keepState } from "../router";

interface Alert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: string;
  activeAt?: string;
  value: string;
}

interface Rule {
  type: "alerting" | "recording";
  name: string;
  query: string;
  duration?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  alerts?: Alert[];
  state?: string;
  health: string;
  lastError?: string;
  lastEvaluation: string;
  evaluationTime: number;
}

interface Group {
  name: string;
  file: string;
  interval: number;
  rules: Rule[];
  lastEvaluation?: string;
}

const STATES = ["firing", "pending", "inactive"] as const;

export const alertsPage: Page = (root, params) => {
  const shown = new Set(params.getAll("state").filter((s) => (STATES as readonly string[]).includes(s)));
  if (shown.size === 0) STATES.forEach((s) => shown.add(s));
  const filters = h("div", { class: "filters" });
  const body = h("div", { "data-testid": "rules" }, h("div", { class: "muted" }, "loading…"));
  append(root, h("h2", {}, "Alerts and rules"), filters, body);
  let groups: Group[] = [];
  const redraw = () => {
    const state = new URLSearchParams();
    if (shown.size < STATES.length) shown.forEach((s) => state.append("state", s));
    keepState(state);
    drawFilters(filters, groups, shown, redraw);
    drawGroups(body, groups, shown);
  };
  void (async () => {
    try {
      groups = (await get<{ groups: Group[] }>("/api/v1/rules")).data.groups;
      redraw();
    } catch (e) {
      replace(body, errorBox((e as Error).message));
    }
  })();
};

function drawFilters(out: HTMLElement, groups: Group[], shown: Set<string>, redraw: () => void): void {
  const counts = new Map<string, number>();
  for (const rule of groups.flatMap((g) => g.rules)) {
    if (rule.type === "alerting") counts.set(rule.state ?? "inactive", (counts.get(rule.state ?? "inactive") ?? 0) + 1);
  }
  replace(
    out,
    ...STATES.map((state) => {
      const box = h("input", { type: "checkbox", checked: shown.has(state) });
      box.addEventListener("change", () => {
        if (box.checked) shown.add(state);
        else shown.delete(state);
        redraw();
      });
      return h("label", { class: `state-${state}` }, box, ` ${state} (${counts.get(state) ?? 0})`);
    }),
  );
}

function drawGroups(out: HTMLElement, groups: Group[], shown: Set<string>): void {
  if (groups.length === 0) return replace(out, h("p", { class: "muted" }, "no rule files loaded (--rule-file)"));
  replace(
    out,
    ...groups.map((group) =>
      h(
        "section",
        { class: "group" },
        h("h3", {}, group.name, h("span", { class: "muted" }, ` ${group.file} · every ${group.interval}s`)),
        ...group.rules.filter((r) => r.type === "recording" || shown.has(r.state ?? "inactive")).map(drawRule),
      ),
    ),
  );
}

function drawRule(rule: Rule): HTMLElement {
  const state = rule.type === "alerting" ? rule.state ?? "inactive" : "recording";
  const since = (rule.alerts ?? []).map((a) => a.activeAt).filter(Boolean).sort()[0];
  return h(
    "div",
    { class: `rule rule-${state}`, "data-testid": `rule-${state}` },
    h(
      "div",
      { class: "rule-head" },
      h("span", { class: `badge state-${state}` }, state),
      h("b", {}, rule.name),
      since ? h("span", { class: "muted" }, ` since ${ago(since)}`) : null,
      h("span", { class: "muted" }, ` · evaluated ${ago(rule.lastEvaluation)} in ${(rule.evaluationTime * 1000).toFixed(1)} ms`),
      rule.health !== "ok" ? h("span", { class: "state-firing" }, ` · ${rule.health}`) : null,
    ),
    h(
      "pre",
      { class: "expr" },
      h("a", { href: "#", onclick: (e: Event) => { e.preventDefault(); go("/graph", new URLSearchParams({ expr: rule.query, tab: "table" })); } }, rule.query),
    ),
    rule.lastError ? errorBox(rule.lastError) : null,
    ...(rule.alerts ?? []).map((alert) =>
      h(
        "div",
        { class: "alert" },
        h("span", { class: `badge state-${alert.state}` }, alert.state),
        h("code", {}, formatSeries(alert.labels)),
        h("span", { class: "muted" }, ` value ${alert.value} · active ${ago(alert.activeAt)}`),
        ...Object.entries(alert.annotations ?? {}).map(([name, text]) => h("div", { class: "annotation" }, h("b", {}, `${name}: `), text)),
      ),
    ),
  );
}
