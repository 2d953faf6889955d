"""Seed deployments on a local Kitaru server for tests/test_deployments_live.py.

Run as a script in the test's HOME (a fresh process, connected to the server):

    python tests/seed_deployment.py stack <name>      # a stack with ZenML's `local` deployer
    python tests/seed_deployment.py deploy <stack>    # deploy examples/two_steps.py:two_steps

Kitaru 0.21 refuses to deploy on any stack with a local component (its
``ensure_stack_is_server_runnable`` guard), and every stack this offline
machine can have is local: the local orchestrator and artifact store, and
ZenML's `local` deployer too. ``deploy`` therefore switches that guard off
in this process only, so that real deployment records exist on the server
for the list/get/tag/untag/delete/invoke tests. kitaru-mcp never does this.
Prints one JSON line with the result.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def make_stack(name: str) -> dict:
    from zenml.client import Client

    client = Client()
    client.create_stack_component(
        name=f"{name}-deployer", flavor="local", component_type="deployer", configuration={}
    )
    client.create_stack(
        name=name,
        components={
            "orchestrator": "default",
            "artifact_store": "default",
            "deployer": f"{name}-deployer",
        },
    )
    return {"stack": name}


def deploy(stack: str) -> dict:
    import importlib

    flow_module = importlib.import_module("kitaru.flow")  # `kitaru.flow` is the decorator
    flow_module.ensure_stack_is_server_runnable = lambda **_: None  # the test-only bypass
    sys.path.insert(0, str(ROOT / "examples"))
    from two_steps import two_steps

    deployment = two_steps.deploy(name="seed", stack=stack)
    return {"flow": deployment.flow, "version": deployment.version}


if __name__ == "__main__":
    action, argument = sys.argv[1], sys.argv[2]
    result = make_stack(argument) if action == "stack" else deploy(argument)
    print(json.dumps(result), flush=True)
