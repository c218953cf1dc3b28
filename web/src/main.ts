// The UI's entry: a navigation bar and a router over the History API. A page is a
// function that fills <main> from the URL's query string; pages keep their whole state
// in that query string, so any URL can be shared and restores what it showed.
import "./style.css";
import { pagePrefix } from "./api";
import { h, replace } from "./dom";
import { graphPage } from "./pages/graph";
import { seriesPage } from "./pages/series";
import { cardinalityPage } from "./pages/cardinality";
import { alertsPage } from "./pages/alerts";
import { statusPage } from "./pages/status";

/** A page draws itself into `root`; what it returns is called when the page is left. */
export type Page = (root: HTMLElement, params: URLSearchParams) => (() => void) | void;

const pages: { path: string; title: string; page: Page }[] = [
  { path: "/graph", title: "Query", page: graphPage },
  { path: "/series", title: "Series", page: seriesPage },
  { path: "/cardinality", title: "Cardinality", page: cardinalityPage },
  { path: "/alerts", title: "Alerts", page: alertsPage },
  { path: "/status", title: "Status", page: statusPage },
];

let leave: (() => void) | void;

/** The page path of the current location, without the route prefix. */
function currentPath(): string {
  const path = location.pathname.slice(pagePrefix.length) || "/";
  return path === "/" ? "/graph" : path.replace(/\/+$/, "");
}

function render(): void {
  if (leave) leave();
  const path = currentPath();
  const found = pages.find((p) => p.path === path) ?? pages[0];
  document.title = `${found.title} · Strata`;
  drawNav(found.path);
  const root = document.getElementById("page")!;
  replace(root);
  leave = found.page(root, new URLSearchParams(location.search));
}

function drawNav(active: string): void {
  const links = pages.map((p) =>
    h(
      "a",
      { href: pagePrefix + p.path, class: p.path === active ? "active" : "", onclick: navigate },
      p.title,
    ),
  );
  replace(document.getElementById("nav")!, h("span", { class: "brand" }, "Strata"), ...links);
}

function navigate(event: Event): void {
  const anchor = event.currentTarget as HTMLAnchorElement;
  const mouse = event as MouseEvent;
  if (mouse.ctrlKey || mouse.metaKey || mouse.shiftKey || mouse.button !== 0) return;
  event.preventDefault();
  history.pushState(null, "", anchor.getAttribute("href")!);
  render();
}

window.addEventListener("popstate", render);
render();
