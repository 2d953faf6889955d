"""Hand-written tool handlers: typed generated models in, generated models out.

Each module imports Kitaru lazily (inside functions) so that starting the
server and listing tools never pays for ``import kitaru``; in fact none imports
Kitaru at all: they reach it through the gateway they are handed.

Handlers may import ``core``, ``gateway`` (its ports and types), ``runs.port``,
``calls`` and ``generated.models``; never the tool table or the surface.
"""
