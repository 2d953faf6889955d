"""The HTTP transport's authorization: who is calling, and what they may do.

- ``scopes``: the scope ladder (``kitaru:read`` < ``kitaru:write`` <
  ``kitaru:destructive``) and each tool's required scope, from its annotations;
- ``config``: the ``--auth oauth`` settings, checked before the server starts;
- ``jwks`` and ``verify``: access tokens checked against the issuer's keys
  (RFC 9068 JWTs) or by its introspection endpoint (RFC 7662);
- ``metadata``: the protected resource metadata (RFC 9728) and the
  ``WWW-Authenticate`` challenges.

The gates that apply them in front of the MCP app (401, 403) are the surface's
``kitaru_mcp.surface.http_auth``. ``scopes`` imports nothing (the generator and
the tool stubs use it). The rest may import ``core``, the standard library, the
MCP SDK, Starlette, PyJWT and httpx2; never the gateway or Kitaru. Importing the
package imports none of its modules.
"""
