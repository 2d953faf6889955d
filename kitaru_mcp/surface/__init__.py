"""The MCP surface: what a client talks to, and the composition root.

- ``server``: the low-level MCP server, built from the tool table, the
  gateway and the runs port (the one place they are put together);
- ``dispatch``: serves the tool table under one set of options (mode,
  toolsets, budget, time limits), with one error boundary;
- ``toolsets``: ``--toolsets`` values checked and expanded;
- ``stdio_transport``, ``http_transport``, ``http_front``, ``http_auth``: the
  transports, the HTTP front's limits and the OAuth and scope gates;
- ``workers``: the ``--workers N`` and ``--stateless`` options, checked;
  ``supervisor``: N whole servers behind one socket (uvicorn's supervisor);
- ``request_state``: the sealed ``requestState`` of 2026-07-28 round trips;
- ``resources``, ``prompts``, ``completion``, ``app_view`` (and ``app/``, the
  built MCP App): what the server offers besides tools.

This wing may import every wing below it: ``core``, ``observe``, ``auth``,
``gateway``, ``runs``, ``calls`` and the generated tool table.
"""
