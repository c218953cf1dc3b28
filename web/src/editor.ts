// The PromQL editor: CodeMirror 6 with Prometheus' own PromQL language support
// (@prometheus-io/codemirror-promql): highlighting, linting, and autocompletion of
// functions, metric names, label names and values from this server's API.
import { EditorState } from "@codemirror/state";
import { EditorView, keymap, placeholder } from "@codemirror/view";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { autocompletion, closeBrackets, completionKeymap } from "@codemirror/autocomplete";
import { bracketMatching, syntaxHighlighting, defaultHighlightStyle } from "@codemirror/language";
import { PromQLExtension } from "@prometheus-io/codemirror-promql";
import { url } from "./api";

export interface Editor {
  view: EditorView;
  value(): string;
}

/** The time window autocompletion looks at (unix seconds); the page keeps it current. */
export interface Window {
  start(): number;
  end(): number;
}

/**
 * An editor in `parent`. `onRun` is called on Enter (Shift+Enter adds a line).
 * Completion asks for names seen in the page's time window, not the client's default of
 * the last 12 hours: a user looking at last month's data is offered last month's metrics.
 */
export function promqlEditor(parent: HTMLElement, initial: string, window: Window, onRun: () => void): Editor {
  const promql = new PromQLExtension()
    .activateCompletion(true)
    .activateLinter(true)
    .setComplete({
      remote: {
        // Every lookup it makes (labels, values, series, metadata) is about the tenant's data.
        url: url("/api/v1/series").slice(0, -"/api/v1/series".length),
        httpMethod: "GET",
        cache: { maxAge: 60_000 },
        fetchFn: (input: RequestInfo | URL, init?: RequestInit) => fetch(inWindow(String(input), window), init),
      },
    });
  const run = keymap.of([
    {
      key: "Enter",
      run: () => {
        onRun();
        return true;
      },
    },
  ]);
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: initial,
      extensions: [
        history(),
        closeBrackets(),
        bracketMatching(),
        autocompletion({ activateOnTyping: true }),
        syntaxHighlighting(defaultHighlightStyle),
        placeholder("Expression (press Enter to run, Shift+Enter for a new line)"),
        EditorView.lineWrapping,
        keymap.of([...completionKeymap]),
        run,
        keymap.of([...defaultKeymap, ...historyKeymap]),
        promql.asExtension(),
      ],
    }),
  });
  return { view, value: () => view.state.doc.toString() };
}

/** The request URL with its start/end replaced by the page's window (label and series
 *  lookups carry them; other requests pass unchanged). */
function inWindow(input: string, window: Window): string {
  const parsed = new URL(input, location.href);
  if (!parsed.searchParams.has("start")) return input;
  parsed.searchParams.set("start", String(Math.floor(window.start())));
  parsed.searchParams.set("end", String(Math.ceil(window.end())));
  return parsed.toString();
}
