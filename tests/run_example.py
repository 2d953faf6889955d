"""Run one example flow in this process and print its exec_id (test seeding only)."""

import json
import sys
from importlib import import_module
from pathlib import Path

path, flow_name, args = Path(sys.argv[1]).resolve(), sys.argv[2], json.loads(sys.argv[3])
sys.path.insert(0, str(path.parent))
flow = getattr(import_module(path.stem), flow_name)
from kitaru_mcp.gateway import session  # noqa: E402

session.ensure_store()  # under the store lock, as every process of ours does first
try:
    handle = flow.run(**args)
    print(json.dumps({"exec_id": handle.exec_id}), flush=True)
except Exception as exc:
    print(json.dumps({"error": str(exc)}), flush=True)
