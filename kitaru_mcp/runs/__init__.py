"""The processes that run flows, outside the server's own process.

- ``launcher``: writes a job, starts a runner (forked from the template or
  cold) and waits for its exec_id report;
- ``forkserver``: the server's side of the template: start it, ask it for a
  runner, let it go;
- ``template``: the warm process that imports Kitaru once and forks runners;
- ``runner``: ``python -m kitaru_mcp.runs.runner``, one execution's process;
- ``reaper``: records runners' exits and stops orphaned ones;
- ``idempotency``: idempotency keys for run, replay and retry (files on this
  machine); ``shared_keys``: the same keys as claims in a Kitaru server, so
  that every replica finds them;
- ``heartbeats``: a runner's liveness kept in a Kitaru server, so that any
  replica notices a runner that died with its machine;
- ``port`` / ``process``: the ``RunsPort`` protocol handlers use, and its
  implementation on these processes.

This wing may import ``core``, ``observe`` and ``gateway``; never the call
pipeline, handlers or the surface.
"""
