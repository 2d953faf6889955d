# Every recipe is a plain command too: copy the line if you have no `just`.
venv := ".venv/bin"

# Regenerate generated/ and docs/tools.md from schemas/
gen:
    {{venv}}/python -m kitaru_mcp.codegen

# Fail if generated/ or docs/tools.md drifted from schemas/
check:
    {{venv}}/python -m kitaru_mcp.codegen --check

# The whole test suite (what CI runs)
test:
    {{venv}}/python -m pytest

# The unit tier: handlers, dispatch and errors on a fake gateway (no server, no store; seconds)
unit:
    {{venv}}/python -m pytest -n0 -q tests/unit

# Type checking (configured in pyproject.toml)
types:
    {{venv}}/python -m mypy

# Serve MCP over stdio on the current Kitaru connection
serve:
    {{venv}}/kitaru-mcp

# Benchmarks in a fresh temporary HOME: a table, and bench/results.json (`just bench --quick`)
bench *args:
    {{venv}}/python bench/run.py {{args}}

# --workers 1 against --workers 2 over HTTP: throughput, latency, run under load (`--quick`)
bench-workers *args:
    {{venv}}/python bench/workers.py {{args}}

lint:
    {{venv}}/ruff check .
    {{venv}}/ruff format --check codegen handlers kitaru_mcp tests

# Rebuild the execution view (MCP App) from app/ into kitaru_mcp/surface/app/execution.html (needs node)
app:
    cd app && npm install --no-package-lock --no-audit --no-fund && node build.mjs

# Build the MCP Bundle for Claude Desktop into dist/ (kitaru-mcp-VERSION.mcpb and its unpacked folder)
bundle:
    {{venv}}/python bundle/build.py dist
