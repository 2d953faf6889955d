"""Each schema's ``handler:`` names a function that exists, with the stub's signature.

Read from the handler modules' source (nothing is imported, so Kitaru is
never loaded): ``handlers/<module>.py`` must define, at top level,
``def <function>(gw, params: models.<Input>) -> models.<Output>`` with exactly
two positional parameters; where annotations are written they must name the
tool's generated input and output models.
"""

from __future__ import annotations

import ast
from pathlib import Path

from .bundle import model_name
from .loader import SchemaSet, ToolDef


def check_handlers(schemas: SchemaSet, handlers_dir: Path) -> list[str]:
    """Problems, one per line naming the schema file, for every handler that does not fit."""
    problems: list[str] = []
    parsed: dict[str, dict[str, ast.FunctionDef] | None] = {}
    for tool in sorted(schemas.tools, key=lambda t: t.source):
        module = tool.handler_module
        if module not in parsed:
            parsed[module] = _functions(handlers_dir / f"{module}.py")
        functions = parsed[module]
        where = f"{tool.source}: handler: {tool.raw['handler']}"
        if functions is None:
            problems.append(f"{where}: no module handlers/{module}.py")
            continue
        function = functions.get(tool.handler_function)
        if function is None:
            problems.append(
                f"{where}: handlers/{module}.py defines no function {tool.handler_function}"
            )
            continue
        problems.extend(f"{where}: {p}" for p in _signature_problems(tool, function))
    return problems


def _functions(path: Path) -> dict[str, ast.FunctionDef] | None:
    if not path.is_file():
        return None
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}


def _signature_problems(tool: ToolDef, function: ast.FunctionDef) -> list[str]:
    args = function.args
    positional = [*args.posonlyargs, *args.args]
    extra_required = [
        a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is None
    ]
    if len(positional) != 2 or args.vararg or extra_required:
        names = ", ".join(a.arg for a in positional)
        return [f"takes ({names}); the stub calls it with (gateway, params)"]
    wanted = {
        "params": model_name(tool.raw["input"], tool.class_stem, "Input"),
        "return": model_name(tool.raw["output"], tool.class_stem, "Output"),
    }
    found = {"params": positional[1].annotation, "return": function.returns}
    problems = []
    for part, annotation in found.items():
        if annotation is None:
            continue
        written = ast.unparse(annotation).strip("'\"")
        if written.rsplit(".", 1)[-1] != wanted[part]:
            problems.append(f"{part} is annotated {written}, expected models.{wanted[part]}")
    return problems
