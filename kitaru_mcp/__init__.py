"""kitaru-mcp: a schema-first MCP server for Kitaru executions.

The package is cut into wings; each imports only its own and those listed
before it (``tests/unit/test_imports.py`` walks every import to hold it):

- ``core``: the vocabulary every wing shares (errors, statuses, settings,
  targets, the state directory, process checks);
- ``observe``: the audit log and traces;
- ``auth``: scopes and token checks for the HTTP transport;
- ``gateway``: the one door to Kitaru and ZenML;
- ``runs``: the processes that run flows (launcher, template, runner, reaper);
- ``calls``: what one call carries into a handler (context, stubs, budget,
  cursors, layout);
- ``generated.models``, ``handlers``, then ``generated.tools`` (the tool table);
- ``surface``: the MCP server, its dispatcher and transports, the composition
  root that hands the gateway and the runs port to the dispatcher;
- ``clients`` (install, doctor), ``cli``, ``__main__``.

This module holds the version only and may import nothing.
"""

__version__ = "0.1.0"
