"""The HTTP transport's authorization: who is calling, and what they may do.

- ``scopes``: the scope ladder (``kitaru:read`` < ``kitaru:write`` <
  ``kitaru:destructive``) and each tool's required scope, from its annotations;
- ``config``: the ``--auth oauth`` settings, checked before the server starts;
- ``jwks`` and ``verify``: access tokens checked against the issuer's keys
  (RFC 9068 JWTs) or by its introspection endpoint (RFC 7662);
- ``metadata``: the protected resource metadata (RFC 9728) and the
  ``WWW-Authenticate`` challenges;
- ``middleware``: the OAuth gate (401) and the scope gate (403) in front of
  the MCP app.

``scopes`` imports nothing (the generator and the tool stubs use it). The
rest may import the standard library, the MCP SDK, Starlette, PyJWT, httpx2,
``kitaru_mcp.http_front`` and, for what a resource or prompt needs,
``kitaru_mcp.resources``/``kitaru_mcp.prompts``; never the gateway or Kitaru.
Importing the package imports none of its modules.
"""
