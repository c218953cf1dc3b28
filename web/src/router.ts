// Moving between pages and keeping a page's state in its URL.
import { pagePrefix } from "./api";

/** Moves to another page (a path under the prefix, with its query string). */
export function go(path: string, params?: URLSearchParams): void {
  const query = params && params.toString() ? `?${params}` : "";
  history.pushState(null, "", pagePrefix + path + query);
  window.dispatchEvent(new PopStateEvent("popstate"));
}

/** Writes the current page's state into the URL without drawing the page again, so the
 *  address bar can be copied and shared at any moment. */
export function keepState(params: URLSearchParams): void {
  const query = params.toString();
  const target = location.pathname + (query ? `?${query}` : "");
  if (target !== location.pathname + location.search) history.replaceState(null, "", target);
}
