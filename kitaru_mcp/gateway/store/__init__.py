"""The embedded store's read path: straight from ZenML's SQL tables, only what the contract returns.

On a local (SQL) store, the read tools skip the SDK's per-run model building
and ask ZenML's own SQL schema (SQLModel tables on the store's engine) for
exactly the columns they return, in one statement where possible. Each query
gives the same answer as the SDK call it replaces; ``tests/test_differential.py``
checks that field by field on a seeded store. On a server connection there is
no engine: ``tables.engine()`` answers None and the gateway takes the REST path
(``server_reads``) or the SDK's.

- ``tables``: the engine and the table classes; ``summaries``: listing pages;
  ``inputs``: flow parameters; ``statistics``; ``stacks``; ``detail``: one
  execution in full.

Private ZenML API (pinned in ``tests/test_gateway_pins.py``):
``SqlZenStore.engine`` and the table schemas ``PipelineRunSchema``,
``PipelineSnapshotSchema``, ``PipelineSchema``, ``StackSchema``,
``RunWaitConditionSchema`` and ``ProjectSchema`` (their column names). This
package may import the gateway's shared helpers (``names``, ``keyset``,
``groups``, ``serialize``) and nothing above the gateway.
"""
