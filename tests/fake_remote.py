"""A ZenML orchestrator that runs flows elsewhere, faked at ZenML's orchestrator interface.

``submit_dynamic_pipeline`` (and ``submit_pipeline``) only record the submission
in the file ``$FAKE_REMOTE_SUBMISSIONS`` and hand back a ``SubmissionResult``
whose ``wait_for_completion`` would block for an hour, as a synchronous remote
orchestrator's would: a runner that waits on it never ends in a test's time.

``python tests/fake_remote.py register`` registers the flavor, an orchestrator
``fake-remote`` and a stack ``fake-remote`` (it and the default artifact store)
in the store of ``$HOME``; ``... activate`` makes that stack the active one;
``... status EXEC_ID STATUS`` sets a run's status as its orchestrator would.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from zenml.orchestrators import BaseOrchestrator, BaseOrchestratorConfig, BaseOrchestratorFlavor
from zenml.orchestrators.base_orchestrator import SubmissionResult

SUBMISSIONS_ENV = "FAKE_REMOTE_SUBMISSIONS"
NAME = "fake-remote"
SOURCE = "tests.fake_remote.FakeRemoteOrchestratorFlavor"


class FakeRemoteOrchestratorConfig(BaseOrchestratorConfig):
    @property
    def is_local(self) -> bool:
        return False


class FakeRemoteOrchestrator(BaseOrchestrator):
    def get_orchestrator_run_id(self) -> str:
        return "fake-remote-run"

    def _record(self, placeholder_run: Any) -> SubmissionResult:
        entry = {"exec_id": str(placeholder_run.id) if placeholder_run else None}
        with open(os.environ[SUBMISSIONS_ENV], "a", encoding="utf-8") as out:
            out.write(json.dumps({**entry, "pid": os.getpid(), "at": time.time()}) + "\n")
        return SubmissionResult(wait_for_completion=lambda: time.sleep(3600))

    def submit_dynamic_pipeline(
        self, snapshot: Any, stack: Any, environment: Any, placeholder_run: Any = None
    ) -> SubmissionResult:
        return self._record(placeholder_run)

    def submit_pipeline(
        self,
        snapshot: Any,
        stack: Any,
        base_environment: Any,
        step_environments: Any,
        placeholder_run: Any = None,
    ) -> SubmissionResult:
        return self._record(placeholder_run)


class FakeRemoteOrchestratorFlavor(BaseOrchestratorFlavor):
    @property
    def name(self) -> str:
        return "fake_remote"

    @property
    def config_class(self) -> type[BaseOrchestratorConfig]:
        return FakeRemoteOrchestratorConfig

    @property
    def implementation_class(self) -> type[BaseOrchestrator]:
        return FakeRemoteOrchestrator


def register() -> None:
    from zenml.client import Client
    from zenml.enums import StackComponentType
    from zenml.utils import source_utils

    from kitaru_mcp.gateway import session

    # the flavor's source is named from the repository root, where runners start
    source_utils.set_custom_source_root(str(Path(__file__).resolve().parent.parent))
    session.ensure_store()
    client = Client()
    orchestrator = StackComponentType.ORCHESTRATOR
    client.create_flavor(source=SOURCE, component_type=orchestrator)
    client.create_stack_component(
        name=NAME, flavor="fake_remote", component_type=orchestrator, configuration={}
    )
    client.create_stack(
        name=NAME,
        components={orchestrator: NAME, StackComponentType.ARTIFACT_STORE: "default"},
    )


def activate() -> None:
    from zenml.client import Client

    from kitaru_mcp.gateway import session

    session.ensure_store()
    Client().activate_stack(NAME)


def set_status(exec_id: str, status: str) -> None:
    """What the remote run would report: it ``failed``, or ``paused`` with no wait left."""
    from zenml.client import Client
    from zenml.enums import ExecutionStatus
    from zenml.models import PipelineRunUpdate

    from kitaru_mcp.gateway import session

    session.ensure_store()
    update = PipelineRunUpdate(status=ExecutionStatus(status))
    Client().zen_store.update_run(run_id=uuid.UUID(exec_id), run_update=update)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    steps = {"register": register, "activate": activate, "status": set_status}
    steps[sys.argv[1]](*sys.argv[2:])
    print("ok", flush=True)
