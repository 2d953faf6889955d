"""Putting this server into the assistants' own configuration, and checking it is there.

- ``entry``: the command, arguments and environment that start *this*
  installation (the absolute path of this interpreter's ``kitaru-mcp``).
- ``files``: atomic writes that keep a file's mode, one backup before the
  first change, 0600 for a file that holds a secret.
- ``json_config`` / ``toml_config``: read a client's file, change only our
  entry, keep every other entry and key.
- ``registry``: the clients we know (where each keeps its file, per scope and
  OS, and under which key).
- ``native``: the clients' own ``mcp add`` / ``mcp remove`` commands.
- ``install``: ``kitaru-mcp install`` / ``uninstall``; ``doctor``: ``kitaru-mcp
  doctor``; ``hint``: the note printed when the server is started in a terminal.

Nothing here imports Kitaru or ZenML, and nothing here is imported when the
server serves MCP. This wing may import ``core`` and ``surface.toolsets`` (to
check ``--toolsets``).
"""
