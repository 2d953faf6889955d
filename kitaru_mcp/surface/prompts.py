"""MCP prompts for the documented workflows: review pending waits, debug a failure."""

from __future__ import annotations

from dataclasses import dataclass

import mcp.types as types
from mcp.shared.exceptions import MCPError

from kitaru_mcp.surface.dispatch import Dispatcher


@dataclass(frozen=True)
class PromptDef:
    name: str
    title: str
    description: str
    arguments: tuple[types.PromptArgument, ...]
    template: str
    needs: tuple[str, ...]  # the tools the workflow cannot do without


PROMPTS = {
    prompt.name: prompt
    for prompt in (
        PromptDef(
            name="review_pending_waits",
            title="Review pending waits",
            description="Answer, with the user, every execution waiting for input.",
            arguments=(
                types.PromptArgument(
                    name="flow", description="Only executions of this flow.", required=False
                ),
            ),
            needs=("kitaru_executions_list", "kitaru_executions_get", "kitaru_executions_input"),
            template=(
                "Review the Kitaru executions that wait for human input{flow_clause}.\n"
                '1. Call kitaru_executions_list with status "waiting"{flow_arg}.\n'
                "2. For each one, call kitaru_executions_get and read pending_wait: its name, "
                "question and JSON schema.\n"
                "3. Show me the flow, the question and what kind of answer it expects, and ask me "
                "for the answer (or call kitaru_executions_ask_user to ask me with a form).\n"
                "4. Send my answer with kitaru_executions_input (exec_id, wait = the wait's name, "
                "value matching its schema). Never invent an answer.\n"
                "5. Follow each answered execution with kitaru_executions_wait and report how it "
                "ended."
            ),
        ),
        PromptDef(
            name="debug_failed_execution",
            title="Debug a failed execution",
            description="Find out why an execution failed and propose a retry or a replay.",
            arguments=(
                types.PromptArgument(
                    name="exec_id",
                    description="The failed execution (default: the latest failed one).",
                    required=False,
                ),
            ),
            needs=("kitaru_executions_get", "kitaru_executions_latest", "get_execution_logs"),
            template=(
                "Find out why a Kitaru execution failed.\n"
                "1. {lookup}\n"
                "2. Read its failure and the status of each checkpoint.\n"
                '3. Call get_execution_logs with source "all" and find the error.\n'
                "4. Explain the cause in two or three sentences.\n"
                "5. Propose one next step: kitaru_executions_retry if the failure was transient, "
                "or kitaru_executions_replay from the failing checkpoint with changed inputs. "
                "Ask me before starting anything."
            ),
        ),
    )
}


def served(dispatcher: Dispatcher) -> dict[str, PromptDef]:
    """The prompts whose tools this server serves (its mode and toolsets decide)."""
    return {
        name: prompt
        for name, prompt in PROMPTS.items()
        if all(tool in dispatcher.served for tool in prompt.needs)
    }


def listing(dispatcher: Dispatcher) -> list[types.Prompt]:
    return [
        types.Prompt(
            name=p.name, title=p.title, description=p.description, arguments=list(p.arguments)
        )
        for p in served(dispatcher).values()
    ]


def render(
    name: str, arguments: dict[str, str] | None, dispatcher: Dispatcher
) -> types.GetPromptResult:
    available = served(dispatcher)
    prompt = available.get(name)
    if prompt is None:
        why = "not served in this mode" if name in PROMPTS else "no prompt has that name"
        raise MCPError(
            types.INVALID_PARAMS,
            f"Unknown prompt {name!r}: {why}; served: {', '.join(available) or 'none'}.",
        )
    arguments = arguments or {}
    allowed = {a.name for a in prompt.arguments}
    unknown = sorted(set(arguments) - allowed)
    if unknown:
        raise MCPError(
            types.INVALID_PARAMS,
            f"Prompt {name!r} takes {', '.join(sorted(allowed))}; unknown: {', '.join(unknown)}.",
        )
    flow = arguments.get("flow")
    exec_id = arguments.get("exec_id")
    text = prompt.template.format(
        flow_clause=f" in flow {flow!r}" if flow else "",
        flow_arg=f" and flow {flow!r}" if flow else "",
        lookup=(
            f"Call kitaru_executions_get with exec_id {exec_id!r}."
            if exec_id
            else 'Call kitaru_executions_latest with status "failed".'
        ),
    )
    return types.GetPromptResult(
        description=prompt.description,
        messages=[
            types.PromptMessage(role="user", content=types.TextContent(type="text", text=text))
        ],
    )
