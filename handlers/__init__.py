"""Hand-written tool handlers: typed generated models in, generated models out.

Each module imports Kitaru lazily (inside functions) so that starting the
server and listing tools never pays for ``import kitaru``.
"""
