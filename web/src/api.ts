// Every request the UI makes goes through here: the route prefix is applied, the
// Prometheus envelope ({status, data, warnings, infos, error}) is unwrapped, and a
// failure becomes an ApiError naming the path and what the server said.

function meta(name: string): string {
  const tag = document.querySelector(`meta[name="${name}"]`);
  return (tag?.getAttribute("content") ?? "").replace(/\/+$/, "");
}

/** The prefix the server serves under (`--web-route-prefix`), told to the page in a meta tag. */
export const routePrefix: string = meta("strata-route-prefix");

/** `/tenant/<id>` when the page was opened under a tenant's prefix (`--multi-tenant`), else
 *  empty: pages stay under it, and requests about data go under it. */
export const tenantPrefix: string = meta("strata-tenant-prefix");

/** Where the UI's pages live. */
export const pagePrefix: string = routePrefix + tenantPrefix;

/** Routes about one tenant's data (the server's `tenancy::route_scope`); the rest are about
 *  the whole server and refuse a tenant. */
const TENANT_ROUTE = /^\/(api\/v1\/(query|query_range|series|labels|label\/|metadata|read)|query)(\b|\/|\?|$)/;

export class ApiError extends Error {}

export interface Envelope<T> {
  data: T;
  warnings: string[];
  infos: string[];
}

/** The URL of a server path: under the route prefix, and under the tenant's prefix when
 *  the path is about a tenant's data. */
export function url(path: string): string {
  return routePrefix + (tenantPrefix && TENANT_ROUTE.test(path) ? tenantPrefix : "") + path;
}

/** GETs a Prometheus-style JSON answer and unwraps it. */
export async function get<T>(path: string, params: Record<string, string> = {}): Promise<Envelope<T>> {
  const query = new URLSearchParams(params).toString();
  return request<T>(path + (query ? `?${query}` : ""), { method: "GET" });
}

/** POSTs form parameters (what Prometheus' own UI does for queries: long ones fit). */
export async function post<T>(path: string, params: Record<string, string>): Promise<Envelope<T>> {
  return request<T>(path, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(params).toString(),
  });
}

/** GETs a plain JSON document (ours, without the envelope). */
export async function getRaw<T>(path: string): Promise<T> {
  const response = await fetchOrThrow(path, { method: "GET" });
  return (await response.json()) as T;
}

async function request<T>(path: string, init: RequestInit): Promise<Envelope<T>> {
  const response = await fetchOrThrow(path, init);
  const body = await response.json();
  return { data: body.data as T, warnings: body.warnings ?? [], infos: body.infos ?? [] };
}

async function fetchOrThrow(path: string, init: RequestInit): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url(path), { ...init, credentials: "same-origin" });
  } catch (e) {
    throw new ApiError(`${path}: the server did not answer (${String(e)})`);
  }
  if (!response.ok) {
    let detail = response.statusText;
    try {
      const text = await response.text();
      try {
        const body = JSON.parse(text);
        detail = body.error ?? text;
      } catch {
        detail = text || detail;
      }
    } catch {
      /* keep the status text */
    }
    throw new ApiError(`${path}: ${response.status} ${detail}`);
  }
  return response;
}
