// Numbers, sizes, durations and label sets as people read them.

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 1e6 || (Math.abs(value) < 1e-3 && value !== 0)) return value.toExponential(3);
  return Number.isInteger(value) ? value.toLocaleString("en-US") : value.toPrecision(6).replace(/\.?0+$/, "");
}

export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** Seconds as "3d 4h 5m 6s" (the largest two or three units). */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return "-";
  let rest = Math.max(0, Math.round(seconds));
  const parts: string[] = [];
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]] as const) {
    if (rest >= size || (unit === "s" && parts.length === 0)) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.slice(0, 3).join(" ");
}

/** A Prometheus duration ("5m", "1h30m", "2d") in seconds; NaN when it is not one. */
export function parseDuration(text: string): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  const re = /(\d+)(ms|s|m|h|d|w|y)/g;
  let total = 0;
  let consumed = 0;
  for (const match of trimmed.matchAll(re)) {
    total += Number(match[1]) * units[match[2]];
    consumed += match[0].length;
  }
  return consumed === trimmed.length && consumed > 0 ? total : NaN;
}

/** `name{a="1", b="2"}` for a label set. */
export function formatSeries(labels: Record<string, string>): string {
  const name = labels.__name__ ?? "";
  const rest = Object.entries(labels)
    .filter(([key]) => key !== "__name__")
    .map(([key, value]) => `${key}=${JSON.stringify(value)}`);
  return rest.length === 0 && name ? name : `${name}{${rest.join(", ")}}`;
}

/** An RFC 3339 time, seconds precision, in UTC. */
export function formatTime(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace(".000Z", "Z");
}

/** How long ago a time was ("12s ago"), or "never" for Go's zero time. */
export function ago(iso: string | undefined): string {
  if (!iso || iso.startsWith("0001-")) return "never";
  const ms = Date.now() - Date.parse(iso);
  if (!Number.isFinite(ms)) return iso;
  return `${formatSeconds(ms / 1000)} ago`;
}
