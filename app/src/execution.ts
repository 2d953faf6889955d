// The execution view of kitaru-mcp: an MCP App drawn from the result of
// kitaru_executions_get / latest / run / wait, kept live through tool calls the
// host forwards to the server (App.callServerTool). Values from tool results are
// only ever shown as text (see dom.ts).

import {
  App,
  applyDocumentTheme,
  applyHostStyleVariables,
  type McpUiHostContext,
} from "@modelcontextprotocol/ext-apps";
import type { CallToolResult } from "@modelcontextprotocol/client";
import { h, replace, type Child } from "./dom";
import { waitForm } from "./wait-form";
import type { Schema } from "./schema";

type Failure = { message: string; exception_type?: string | null; origin?: string | null };
type Checkpoint = {
  call_id: string;
  name: string;
  status: string;
  started_at?: string | null;
  ended_at?: string | null;
  attempts?: number;
  failure?: Failure | null;
};
type PendingWait = { name: string; wait_id: string; question?: string | null; schema?: Schema | null };
type ArtifactRef = { artifact_id: string; name: string; save_type: string; checkpoint?: string | null; metadata?: Record<string, unknown> };
type Execution = {
  exec_id: string;
  flow?: string | null;
  status: string;
  status_reason?: string | null;
  stack?: string | null;
  started_at?: string | null;
  ended_at?: string | null;
  original_exec_id?: string | null;
  checkpoints: Checkpoint[];
  artifacts: ArtifactRef[];
  pending_wait?: PendingWait | null;
  failure?: Failure | null;
};
type ToolError = { code: string; message: string; hint?: string };
type LogEntry = { timestamp?: string | null; level?: string | null; checkpoint?: string | null; source: string; message: string };
type Outcome<T> = { ok: true; data: T } | { ok: false; error: ToolError };

const OPTIONAL_TOOLS = [
  "kitaru_executions_input",
  "kitaru_executions_replay",
  "kitaru_executions_cancel",
  "kitaru_artifacts_list",
  "kitaru_artifacts_get",
  "get_execution_logs",
] as const;
const LIVE = new Set(["running"]);
const FOLLOW_TIMEOUT_S = 5;
const LOG_TAIL = 12;

const app = new App({ name: "kitaru-execution-view", version: "1.0.0" }, {}, { autoResize: true });

const state = {
  exec: null as Execution | null,
  requestedId: null as string | null,
  error: null as ToolError | null,
  notice: null as string | null,
  served: new Set<string>(),
  canCall: false,
  logs: null as LogEntry[] | null,
  traceback: null as string | null,
  artifacts: null as ArtifactRef[] | null,
  extrasFor: "",
  following: 0,
  formKey: "",
  confirmCancel: false,
  followStopped: "",
};

// ---------------------------------------------------------------- results

function parseResult(result: CallToolResult): Outcome<Record<string, unknown>> {
  const text = (result.content ?? []).map((c) => (c.type === "text" ? c.text : "")).join("");
  if (result.isError) {
    try {
      const parsed = JSON.parse(text);
      if (parsed && typeof parsed.message === "string") return { ok: false, error: parsed as ToolError };
    } catch {
      // not JSON: shown as it is
    }
    return { ok: false, error: { code: "error", message: text || "The tool call failed." } };
  }
  if (result.structuredContent && typeof result.structuredContent === "object") {
    return { ok: true, data: result.structuredContent as Record<string, unknown> };
  }
  try {
    return { ok: true, data: JSON.parse(text) };
  } catch {
    return { ok: false, error: { code: "error", message: "The tool returned no structured result." } };
  }
}

function executionOf(data: Record<string, unknown>): Execution | null {
  const inner = data.execution;
  if (inner && typeof inner === "object") return inner as Execution;
  if (typeof data.exec_id === "string" && Array.isArray(data.checkpoints)) return data as unknown as Execution;
  return null;
}

async function call(name: string, args: Record<string, unknown>): Promise<Outcome<Record<string, unknown>>> {
  try {
    return parseResult((await app.callServerTool({ name, arguments: args })) as CallToolResult);
  } catch (err) {
    return { ok: false, error: { code: "unavailable", message: err instanceof Error ? err.message : String(err) } };
  }
}

/** Which optional tools the server serves: a call with no arguments is refused by the
 * argument check (served) or by the server as unknown (not served); no handler runs. */
async function probeTools(): Promise<void> {
  const found = await Promise.all(
    OPTIONAL_TOOLS.map(async (name) => {
      try {
        await app.callServerTool({ name, arguments: {} });
        return name;
      } catch {
        return null;
      }
    }),
  );
  state.served = new Set(found.filter((n): n is string => n !== null));
}

// ---------------------------------------------------------------- formatting

function parseTime(value: string | null | undefined): number | null {
  if (!value) return null;
  const iso = /[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

function showTime(value: string | null | undefined): string {
  const t = parseTime(value);
  return t === null ? "—" : new Date(t).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

function showDuration(ms: number | null): string {
  if (ms === null || ms < 0) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m ${Math.round(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} m`;
}

function span(start: string | null | undefined, end: string | null | undefined, live: boolean): number | null {
  const a = parseTime(start);
  const b = parseTime(end) ?? (live ? Date.now() : null);
  return a === null || b === null ? null : b - a;
}

function badge(status: string): HTMLElement {
  return h("span", { class: `badge s-${status.replace(/[^a-z_]/g, "")}` }, status);
}

// ---------------------------------------------------------------- sections

const root = document.getElementById("root") as HTMLElement;
const sections = {
  banner: h("section", { class: "banner", "aria-label": "Execution" }),
  notice: h("div", { class: "notice", role: "status", "aria-live": "polite" }),
  wait: h("section", { class: "card wait", "aria-label": "Pending wait" }),
  failure: h("section", { class: "card failure", "aria-label": "Failure" }),
  timeline: h("section", { class: "card", "aria-label": "Checkpoints" }),
  artifacts: h("section", { class: "card", "aria-label": "Artifacts" }),
  logs: h("section", { class: "card", "aria-label": "Newest log lines" }),
};
replace(root, Object.values(sections));

function renderBanner(e: Execution): void {
  const live = LIVE.has(e.status) || e.status === "waiting";
  const actions: HTMLElement[] = [];
  if (state.canCall) {
    actions.push(h("button", { type: "button", onclick: () => void refresh() }, "Refresh"));
  }
  if (state.served.has("kitaru_executions_cancel") && live) {
    if (state.confirmCancel) {
      actions.push(
        h("button", { type: "button", class: "danger", onclick: () => void cancelExecution() }, "Confirm cancel"),
        h("button", { type: "button", onclick: () => ((state.confirmCancel = false), render()) }, "Keep it"),
      );
    } else {
      actions.push(
        h("button", { type: "button", class: "danger", onclick: () => ((state.confirmCancel = true), render()) }, "Cancel execution"),
      );
    }
  }
  const facts: [string, string][] = [
    ["stack", e.stack ?? "—"],
    ["started", showTime(e.started_at)],
    ["ended", showTime(e.ended_at)],
    ["duration", showDuration(span(e.started_at, e.ended_at, live))],
  ];
  replace(
    sections.banner,
    h(
      "div",
      { class: "title" },
      h("h1", {}, e.flow ?? "execution"),
      h("span", { class: "status", "data-status": e.status }, badge(e.status)),
      state.following ? h("span", { class: "muted live" }, "following…") : null,
    ),
    h("div", { class: "mono muted id" }, e.exec_id),
    e.original_exec_id ? h("div", { class: "muted" }, "replay of ", h("span", { class: "mono" }, e.original_exec_id)) : null,
    e.status_reason ? h("div", { class: "muted" }, e.status_reason) : null,
    h("dl", { class: "facts" }, facts.map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, v)))),
    actions.length ? h("div", { class: "row" }, actions) : null,
  );
}

function renderWait(e: Execution): void {
  const w = e.pending_wait;
  sections.wait.hidden = !w;
  if (!w) {
    state.formKey = "";
    return;
  }
  const key = `${e.exec_id}/${w.wait_id}/${state.served.has("kitaru_executions_input")}`;
  if (key === state.formKey) return; // keep what the user typed while the view refreshes
  state.formKey = key;
  const form = waitForm(w.schema ?? null, state.served.has("kitaru_executions_input"), async (value) => {
    const out = await call("kitaru_executions_input", { exec_id: e.exec_id, wait: w.name, value });
    if (!out.ok) return out.error.message;
    const next = executionOf(out.data);
    state.notice = "Answer sent.";
    if (next) update(next);
    return null;
  });
  replace(
    sections.wait,
    h("h2", {}, "Waiting for input: ", h("span", { class: "mono" }, w.name)),
    h("p", { class: "question" }, w.question ?? "This execution waits for a value."),
    form,
  );
}

function failureText(f: Failure): Child[] {
  const type = f.exception_type;
  // Kitaru's message often starts with the exception type already
  return type && !f.message.startsWith(type) ? [h("strong", {}, `${type}: `), f.message] : [f.message];
}

function renderFailure(e: Execution): void {
  const f = e.failure ?? e.checkpoints.find((c) => c.failure)?.failure ?? null;
  sections.failure.hidden = !f && e.status !== "failed";
  if (sections.failure.hidden) return;
  replace(
    sections.failure,
    h("h2", {}, "Failure"),
    f
      ? h("p", { class: "error-text" }, failureText(f))
      : h("p", {}, "The execution failed without a recorded reason."),
    f?.origin ? h("p", { class: "muted" }, `origin: ${f.origin}`) : null,
    state.traceback ? h("details", { open: true }, h("summary", {}, "Traceback (excerpt)"), h("pre", { class: "mono" }, state.traceback)) : null,
  );
}

function renderTimeline(e: Execution): void {
  const live = LIVE.has(e.status);
  const starts = e.checkpoints.map((c) => parseTime(c.started_at)).filter((t): t is number => t !== null);
  const origin = parseTime(e.started_at) ?? (starts.length ? Math.min(...starts) : null);
  const ends = e.checkpoints.map((c) => parseTime(c.ended_at) ?? (live ? Date.now() : parseTime(c.started_at)));
  const last = Math.max(parseTime(e.ended_at) ?? 0, ...ends.filter((t): t is number => t !== null), live ? Date.now() : 0);
  const total = origin !== null && last > origin ? last - origin : null;
  const canReplay = state.served.has("kitaru_executions_replay") && e.status !== "running";
  const rows = e.checkpoints.map((c) => {
    const begin = parseTime(c.started_at);
    const dur = span(c.started_at, c.ended_at, live && c.status === "running");
    let bar: HTMLElement | null = null;
    if (total && origin !== null && begin !== null) {
      const left = ((begin - origin) / total) * 100;
      const width = Math.max(((dur ?? 0) / total) * 100, 0.8);
      bar = h("div", { class: "track", "aria-hidden": "true" }, h("div", { class: `bar s-${c.status}`, style: `left:${left.toFixed(2)}%;width:${Math.min(width, 100 - left).toFixed(2)}%` }));
    }
    return h(
      "li",
      { class: "checkpoint", "data-name": c.name, "data-status": c.status },
      h(
        "div",
        { class: "cp-head" },
        h("span", { class: "cp-name mono" }, c.name),
        badge(c.status),
        h("span", { class: "muted" }, showDuration(dur)),
        (c.attempts ?? 1) > 1 ? h("span", { class: "attempts" }, `${c.attempts} attempts`) : null,
        canReplay
          ? h("button", { type: "button", class: "small", "aria-label": `Replay from checkpoint ${c.name}`, onclick: () => void replayFrom(c.name) }, "Replay from here")
          : null,
      ),
      bar,
      c.failure ? h("div", { class: "error-text small-text" }, failureText(c.failure)) : null,
    );
  });
  replace(
    sections.timeline,
    h("h2", {}, `Checkpoints (${e.checkpoints.length})`),
    rows.length ? h("ol", { class: "timeline" }, rows) : h("p", { class: "muted" }, "No checkpoint has run yet."),
  );
}

function renderArtifacts(e: Execution): void {
  const list = state.artifacts ?? e.artifacts;
  const canPreview = state.served.has("kitaru_artifacts_get");
  replace(
    sections.artifacts,
    h("h2", {}, `Artifacts (${list.length})`),
    list.length
      ? h(
          "ul",
          { class: "artifacts" },
          list.map((a) => {
            const size = a.metadata && typeof a.metadata.storage_size === "number" ? `${a.metadata.storage_size} B` : null;
            const preview = h("pre", { class: "mono preview", hidden: true });
            return h(
              "li",
              {},
              h("span", { class: "mono" }, a.name),
              " ",
              h("span", { class: "muted" }, [a.save_type, a.checkpoint ? `from ${a.checkpoint}` : null, size].filter(Boolean).join(" · ")),
              canPreview
                ? h("button", { type: "button", class: "small", "aria-label": `Preview ${a.name}`, onclick: () => void previewArtifact(a.artifact_id, preview) }, "Preview")
                : null,
              preview,
            );
          }),
        )
      : h("p", { class: "muted" }, "No artifact recorded."),
  );
}

function renderLogs(): void {
  sections.logs.hidden = state.logs === null;
  if (!state.logs) return;
  const lines = state.logs.slice(-LOG_TAIL);
  replace(
    sections.logs,
    h("h2", {}, "Newest log lines"),
    lines.length
      ? h(
          "pre",
          { class: "mono logs" },
          lines.map((l) => `${l.timestamp ? showTime(l.timestamp).slice(11, 19) + " " : ""}${l.level ? l.level + " " : ""}${l.checkpoint ? "[" + l.checkpoint + "] " : ""}${l.message}\n`),
        )
      : h("p", { class: "muted" }, "No log lines."),
  );
}

function render(): void {
  const e = state.exec;
  replace(sections.notice, state.notice ? h("p", {}, state.notice) : null);
  if (state.error) {
    sections.notice.append(
      h(
        "div",
        { class: "card error", role: "alert", "data-code": state.error.code },
        h("h2", {}, state.error.code === "not_found" ? "Not found" : "Error"),
        h("p", { class: "error-text" }, state.error.message),
        state.error.hint ? h("p", { class: "muted" }, state.error.hint) : null,
      ),
    );
  }
  for (const s of [sections.banner, sections.wait, sections.failure, sections.timeline, sections.artifacts, sections.logs]) {
    s.hidden = !e;
  }
  if (!e) {
    if (!state.error) {
      replace(sections.notice, h("p", { class: "muted" }, state.requestedId ? `Loading execution ${state.requestedId}…` : "Waiting for the execution…"));
    }
    return;
  }
  renderBanner(e);
  renderWait(e);
  renderFailure(e);
  renderTimeline(e);
  renderArtifacts(e);
  renderLogs();
}

// ---------------------------------------------------------------- actions

function update(e: Execution): void {
  const previous = state.exec;
  state.exec = e;
  state.error = null;
  state.confirmCancel = false;
  render();
  const extrasKey = `${e.exec_id}/${e.status}/${e.checkpoints.length}/${e.artifacts.length}`;
  if (state.canCall && extrasKey !== state.extrasFor) {
    state.extrasFor = extrasKey;
    void loadExtras(e.exec_id);
  }
  const moved = !previous || previous.exec_id !== e.exec_id || !state.following;
  if (LIVE.has(e.status) && moved && state.followStopped !== e.exec_id) void follow(e.exec_id);
}

function showError(error: ToolError): void {
  state.error = error;
  render();
}

async function loadExtras(execId: string): Promise<void> {
  const [logs, artifacts] = await Promise.all([
    state.served.has("get_execution_logs")
      ? call("get_execution_logs", { exec_id: execId, tail: state.exec?.status === "failed" ? 200 : LOG_TAIL })
      : null,
    state.served.has("kitaru_artifacts_list") ? call("kitaru_artifacts_list", { exec_id: execId, limit: 50 }) : null,
  ]);
  if (state.exec?.exec_id !== execId) return;
  if (logs?.ok) {
    const entries = (logs.data.entries ?? []) as LogEntry[];
    state.logs = entries;
    state.traceback = tracebackExcerpt(entries);
  }
  if (artifacts?.ok) state.artifacts = (artifacts.data.artifacts ?? []) as ArtifactRef[];
  render();
}

/** The last Python traceback in the logs (one line per entry or one entry), shortened. */
function tracebackExcerpt(entries: LogEntry[]): string | null {
  const lines = entries.flatMap((l) => l.message.split("\n"));
  let start = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (lines[i].includes("Traceback (most recent call last)")) {
      start = i;
      break;
    }
  }
  if (start < 0) return null;
  let end = start + 1;
  while (end < lines.length && /^\s/.test(lines[end])) end++;
  const body = lines.slice(start, Math.min(end + 1, lines.length));
  // the end matters most: the user's frame and the exception
  return (body.length > 9 ? [body[0], "  …", ...body.slice(-8)] : body).join("\n");
}

/** Keep a running execution live: kitaru_executions_wait with a short timeout, again and again. */
async function follow(execId: string): Promise<void> {
  if (!state.canCall) return;
  const token = ++state.following;
  render();
  try {
    while (state.following === token && state.exec?.exec_id === execId && LIVE.has(state.exec.status)) {
      const out = await call("kitaru_executions_wait", { exec_id: execId, timeout_s: FOLLOW_TIMEOUT_S });
      if (state.following !== token || state.exec?.exec_id !== execId) return;
      if (!out.ok) {
        state.notice = `Stopped following: ${out.error.message}`;
        state.followStopped = execId;
        break;
      }
      const next = executionOf(out.data);
      if (!next) break;
      state.exec = next;
      if (!LIVE.has(next.status)) break;
      render();
    }
  } finally {
    if (state.following === token) {
      state.following = 0;
      if (state.exec?.exec_id === execId) update(state.exec);
    }
  }
}

async function refresh(): Promise<void> {
  const id = state.exec?.exec_id ?? state.requestedId;
  if (!id) return;
  state.followStopped = "";
  const out = await call("kitaru_executions_get", { exec_id: id });
  if (!out.ok) return showError(out.error);
  const e = executionOf(out.data);
  if (e) {
    state.extrasFor = "";
    update(e);
  }
}

async function replayFrom(checkpoint: string): Promise<void> {
  const e = state.exec;
  if (!e) return;
  state.notice = `Starting a replay from ${checkpoint}…`;
  render();
  const out = await call("kitaru_executions_replay", { exec_id: e.exec_id, from_: checkpoint });
  if (!out.ok) {
    state.notice = `Replay failed: ${out.error.message}`;
    return render();
  }
  const next = executionOf(out.data);
  if (!next) return;
  state.notice = `Replay started from ${checkpoint}: ${next.exec_id}`;
  state.logs = null;
  state.artifacts = null;
  state.traceback = null;
  update(next);
}

async function cancelExecution(): Promise<void> {
  const e = state.exec;
  if (!e) return;
  state.confirmCancel = false;
  const out = await call("kitaru_executions_cancel", { exec_id: e.exec_id });
  if (!out.ok) {
    state.notice = `Cancel failed: ${out.error.message}`;
    return render();
  }
  state.notice = "Execution cancelled.";
  const next = executionOf(out.data);
  if (next) update(next);
}

async function previewArtifact(id: string, into: HTMLElement): Promise<void> {
  if (!into.hidden) {
    into.hidden = true;
    return;
  }
  const out = await call("kitaru_artifacts_get", { artifact_id: id, max_bytes: 4096 });
  into.hidden = false;
  if (!out.ok) return replace(into, out.error.message);
  const d = out.data;
  const text = d.format === "json" ? JSON.stringify(d.json_value, null, 2) : String(d.preview ?? "");
  replace(into, `${d.value_type}${d.truncated ? " (truncated)" : ""}\n${text}`);
}

// ---------------------------------------------------------------- host

function applyContext(ctx: McpUiHostContext | undefined): void {
  if (!ctx) return;
  if (ctx.theme) applyDocumentTheme(ctx.theme);
  const vars = ctx.styles?.variables;
  if (vars) applyHostStyleVariables(vars);
}

app.ontoolinput = (params) => {
  const id = params.arguments?.exec_id;
  if (typeof id === "string") state.requestedId = id;
  render();
};
app.ontoolresult = (result) => {
  const out = parseResult(result as CallToolResult);
  if (!out.ok) return showError(out.error);
  const e = executionOf(out.data);
  if (e) update(e);
  else showError({ code: "error", message: "The result holds no execution." });
};
app.ontoolcancelled = () => {
  state.notice = "The tool call was cancelled.";
  render();
};
app.onhostcontextchanged = (ctx) => applyContext(ctx as McpUiHostContext);
app.onteardown = async () => {
  state.following = 0;
  return {};
};

render();
await app.connect();
applyContext(app.getHostContext());
state.canCall = Boolean(app.getHostCapabilities()?.serverTools);
if (state.canCall) {
  await probeTools();
  if (state.exec) {
    const e = state.exec;
    state.extrasFor = "";
    state.formKey = "";
    update(e);
  } else {
    render();
  }
}
