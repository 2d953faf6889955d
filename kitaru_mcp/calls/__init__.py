"""What one call carries from the dispatcher into its handler.

- ``context``: the call's context (caller, protocol revision, progress,
  the runs port) that handlers reach through ``current()``;
- ``stubs``: ``ToolStub``, one tool's validated entry (input schema, output
  check, handler);
- ``budget``: the result budget and the cuts that keep a result inside it;
- ``cursor``: opaque, sealed pagination cursors;
- ``layout``: the key order of every result.

This wing may import ``core``, ``observe``, ``auth.scopes``, ``gateway`` (types
only) and ``runs.port``; never handlers, the tool table or the surface.
"""
