"""Flow targets (``<module_or_file>:<flow>``): loading one and checking its arguments.

Which targets name a file, and where files may live, is ``settings``' rule;
this module imports a target (in a runner, or to read a deployment's flow).
Imports Kitaru only through the target itself.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from pathlib import Path
from typing import Any

from kitaru_mcp.core.settings import is_file_target


class TargetError(Exception):
    def __init__(self, message: str, field: str = "target", hint: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.hint = hint


def load_target(target: str) -> Any:
    """``<module_or_file>:<flow>`` -> the flow object; files load under their stem."""
    module_ref, _, attribute = target.partition(":")
    if is_file_target(module_ref):
        path = Path(module_ref).expanduser().resolve()
        if not path.is_file():
            raise TargetError(f"target file {module_ref!r} does not exist ({path}).")
        sys.path.insert(0, str(path.parent))
        module_name = path.stem
        existing = sys.modules.get(module_name)
        if existing is not None and Path(getattr(existing, "__file__", "") or "") != path:
            raise TargetError(f"module name {module_name!r} of {path} clashes with {existing}.")
    else:
        sys.path.insert(0, os.getcwd())
        module_name = module_ref
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise TargetError(f"module {module_ref!r} cannot be found: {exc}") from exc
        raise TargetError(f"importing {module_ref!r} failed: {exc!r}") from exc
    except BaseException as exc:
        raise TargetError(f"importing {module_ref!r} failed: {exc!r}") from exc
    if not hasattr(module, attribute):
        raise TargetError(f"{module_ref!r} has no attribute {attribute!r}.")
    flow = getattr(module, attribute)
    if type(flow).__name__ != "_FlowDefinition" or not callable(getattr(flow, "run", None)):
        raise TargetError(
            f"{target!r} is a {type(flow).__name__}, not a Kitaru flow.",
            hint="Point the target at a function decorated with @kitaru.flow.",
        )
    return flow


def check_args(flow: Any, args: dict[str, Any]) -> None:
    """Bind ``args`` to the flow's signature; name unknown or missing parameters."""
    signature = inspect.signature(flow)
    params = signature.parameters
    accepts_kwargs = any(p.kind is p.VAR_KEYWORD for p in params.values())
    unknown = sorted(set(args) - set(params)) if not accepts_kwargs else []
    if unknown:
        raise TargetError(
            f"unknown flow argument(s) {', '.join(unknown)}; the flow takes {signature}.",
            field=f"args.{unknown[0]}",
        )
    try:
        signature.bind(**args)
    except TypeError as exc:
        raise TargetError(f"{exc}; the flow takes {signature}.", field="args") from exc
