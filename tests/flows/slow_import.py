"""A flow whose module takes a few seconds to import: its start stays pending a while."""

import os
import time

from kitaru import checkpoint, flow

time.sleep(float(os.environ.get("SLOW_IMPORT_S", "4")))


@checkpoint
def hello(name: str) -> str:
    print(f"hello {name}", flush=True)
    return name


@flow
def slow_import(name: str = "x") -> str:
    return hello(name)
