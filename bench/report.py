"""The bench's tables: every figure beside its target."""

from __future__ import annotations

from typing import Any

from harness import ratio
from sections import RUN_TARGETS

# ---------------------------------------------------------------------------- report


def _shown(value: float, unit: str) -> str:
    return f"{value:.2f}x" if unit == "x" else f"{value:g} {unit}"


def table_rows(results: dict[str, Any]) -> list[list[str]]:
    """section, measure, median, versus its baseline, target, whether it is met."""
    rows: list[list[str]] = []

    def add(section: str, label: str, key: str, unit: str = "ms", versus: str = "") -> None:
        data = results[section]
        value = data["metrics"][key]
        baseline = data["metrics"].get(versus)
        versus = f"{ratio(value, baseline):.2f}x {versus.removesuffix('_ms')}" if baseline else ""
        target = met = ""
        limit = data.get("targets", {}).get(key)
        if limit is not None:
            target, met = f"<= {_shown(limit, unit)}", "yes" if value <= limit else "NO"
        rows.append([section, label, _shown(value, unit), versus, target, met])

    add("cold_start", "initialize answered", "initialize_ms")
    add("cold_start", "tools/list answered", "tools_list_ms", versus="mcp_import_ms")
    add("cold_start", "baseline: import mcp.server.lowlevel", "mcp_import_ms")
    add("cold_start", "baseline: import kitaru", "kitaru_import_ms")
    add("cold_start", "tools/list / MCP SDK import", "ratio_tools_list_vs_mcp_import", "x")
    add("cold_start", "tools/list / Kitaru import", "ratio_tools_list_vs_kitaru_import", "x")
    add("cold_start", "server peak RSS (VmHWM) after start", "peak_rss_mb", "MB")
    cold = results["cold_start"]
    imported = [m for m in ("kitaru", "zenml") if cold[f"{m}_imported_before_first_call"]]
    rows.append(
        ["cold_start", "imported before the first call", ", ".join(imported) or "neither",
         "", "neither", "NO" if imported else "yes"]
    )  # fmt: skip
    add("per_call", "get: direct KitaruClient().executions.get", "direct_sdk_ms")
    add("per_call", "get: in-process stub (call_stub)", "in_process_stub_ms")
    add("per_call", "get: over stdio", "stdio_ms")
    add("per_call", "get: in-process overhead", "in_process_overhead_ms")
    add("per_call", "get: stdio overhead", "stdio_overhead_ms")
    for size in results["list_scaling"]["sizes"]:
        add("list_scaling", f"list(limit=20), {size} execs: direct", f"direct_{size}_ms")
        add("list_scaling", f"list(limit=20), {size} execs: stub", f"stub_{size}_ms")
        add("list_scaling", f"list(limit=20), {size} execs: stub / direct", f"ratio_{size}", "x")
    if "stub_growth" in results["list_scaling"]["metrics"]:
        add("list_scaling", "stub growth 100 -> 1,000", "stub_growth", "x", versus="direct_growth")
    add("concurrency", "kitaru_status, idle", "status_idle_ms")
    add("concurrency", "kitaru_status, wait in flight", "status_during_wait_ms")
    add("concurrency", "kitaru_status, wait in flight (max)", "status_during_wait_max_ms")
    for name in RUN_TARGETS:
        if f"{name}_cold_ms" in results["run_returns"]["metrics"]:
            add("run_returns", f"run {name}: cold runner", f"{name}_cold_ms")
        add("run_returns", f"run {name}: warm runner", f"{name}_warm_ms", versus=f"{name}_cold_ms")
    if "warm_runner_ready_s" in results["run_returns"]["metrics"]:
        add("run_returns", "template: start to ready", "warm_runner_ready_s", "s")
    rows.extend(session_rows(results))
    return rows


def session_rows(results: dict[str, Any]) -> list[list[str]]:
    rows: list[list[str]] = []

    def add(section: str, label: str, key: str, unit: str = "ms") -> None:
        data = results[section]
        value = data["metrics"][key]
        target = met = ""
        limit = data.get("targets", {}).get(key)
        if limit is not None:
            target, met = f"<= {_shown(limit, unit)}", "yes" if value <= limit else "NO"
        rows.append([section, label, _shown(value, unit), "", target, met])

    if "session" in results:
        for key, label in (
            ("first_read_at_once_ms", "first read at once"),
            ("first_read_after_5s_ms", "first read 5 s after start"),
            ("run_first_ms", "run (first of the session)"),
            ("run_back_to_back_ms", "run issued as the previous returned"),
            ("run_after_8s_ms", "run 8 s later"),
        ):
            add("session", label, key)
            add("session", f"{label} (worst)", f"{key}_worst")
        add("session", "first read at once, from spawn", "first_read_at_once_from_spawn_ms")
        add("session", "floor: import kitaru + a warm read", "floor_import_plus_warm_read_ms")
        add("session", "first read at once / floor", "first_read_at_once_vs_floor", "x")
        add("session", "short flow: run + wait to result", "short_flow_result_ms")
        add("session", "short flow: direct SDK flow.run(), warm", "direct_sdk_flow_ms")
        add("session", "short flow: MCP / direct SDK", "short_flow_vs_direct_sdk", "x")
        add("session", "server RSS", "server_rss_mb", "MB")
        add("session", "template RSS", "template_rss_mb", "MB")
        add("session", "template CPU while idle", "template_idle_cpu_percent", "%")
    rows.extend(first_call_rows(results))
    return rows


def first_call_rows(results: dict[str, Any]) -> list[list[str]]:
    """The first call against the anchor (Kitaru's bundled server), and idle memory."""
    data = results.get("first_call")
    if not data:
        return []
    m, targets = data["metrics"], data.get("targets", {})
    rows: list[list[str]] = []

    def add(label: str, value: str, key: str = "", versus: str = "") -> None:
        limit = targets.get(key)
        target = met = ""
        if limit is not None and key in m:
            unit = "x" if key.endswith("vs_anchor") else "ms"
            target, met = f"<= {_shown(limit, unit)}", "yes" if m[key] <= limit else "NO"
        rows.append(["session", label, value, versus, target, met])

    def pair(case: str, label: str) -> None:
        for store in ("existing", "fresh"):
            ours, anchor = f"ours_{case}_{store}_ms", f"anchor_{case}_{store}_ms"
            value = f"{m[ours]:.0f} ({m[ours + '_worst']:.0f})"
            versus = ""
            if anchor in m:
                value += f" / anchor {m[anchor]:.0f} ({m[anchor + '_worst']:.0f}) ms"
                versus = f"{m[f'{case}_{store}_vs_anchor']:.2f}x anchor"
            add(f"{label}, {store} store (worst)", value, f"{case}_{store}_vs_anchor", versus)

    pair("tools_list", "spawn -> tools/list")
    pair("read_at_once", "spawn -> first read, called at once")
    after = "ours_read_after_5s_ms"
    add("first read 5 s after tools/list (worst)", f"{m[after]:.0f} ({m[after + '_worst']:.0f}) ms",
        "read_after_5s_ms")  # fmt: skip
    if "read_after_5s_ms" in targets:
        rows[-1][4:] = [f"<= {targets['read_after_5s_ms']} ms",
                        "yes" if m[after] <= targets["read_after_5s_ms"] else "NO"]  # fmt: skip
    pair("run_first", "spawn -> a run as the very first call returned")
    for process in ("server", "template", "runner"):
        key = f"ours_{process}"
        if f"{key}_rss_mb" in m:
            add(f"memory: {process} RSS / private (USS) / shared / PSS",
                f"{m[key + '_rss_mb']:.0f} / {m[key + '_uss_mb']:.0f} / "
                f"{m[key + '_shared_mb']:.0f} / {m[key + '_pss_mb']:.0f} MB")  # fmt: skip
    if "anchor_server_rss_mb" in m:
        key = "anchor_server"
        add("memory: anchor RSS / private (USS) / shared / PSS",
            f"{m[key + '_rss_mb']:.0f} / {m[key + '_uss_mb']:.0f} / "
            f"{m[key + '_shared_mb']:.0f} / {m[key + '_pss_mb']:.0f} MB")  # fmt: skip
    versus = f"{m['idle_rss_vs_anchor']:.2f}x anchor" if "idle_rss_vs_anchor" in m else ""
    add("memory while idle: server + template RSS", f"{m['ours_idle_rss_mb']:.0f} MB",
        "idle_rss_vs_anchor", versus)  # fmt: skip
    versus = f"{m['idle_pss_vs_anchor']:.2f}x anchor" if "idle_pss_vs_anchor" in m else ""
    add("memory while idle: server + template PSS", f"{m['ours_idle_pss_mb']:.0f} MB", "", versus)
    return rows


def print_table(results: dict[str, Any]) -> None:
    header = ["section", "measure (median)", "value", "vs baseline", "target", "met"]
    rows = [header, *(table_rows(results) if "cold_start" in results else session_rows(results))]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows[1:]:
        print(line(row))
    meta = results["meta"]
    print(
        f"\n{meta['date']}, {meta['machine']['cpus']} cores, Python {meta['machine']['python']}, "
        f"{'--quick' if meta['quick'] else 'full'} run in {meta['duration_s']:.0f} s, "
        f"load average {' -> '.join(map(str, meta['machine']['load_average_1min']))}; "
        f"runner templates left after their server exited: {results['orphan_warm_runners']}"
    )
