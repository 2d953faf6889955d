"""The shared vocabulary: what every other wing may lean on.

- ``errors``: the ``ToolFailure`` ladder, the error codes and the redaction of
  secrets in messages;
- ``statuses``: Kitaru's execution statuses, which are live and which final;
- ``settings``: the server's own settings (target roots, file targets);
- ``targets``: loading a flow target (``module:attr`` or a file);
- ``state``: the state directory and its file locks;
- ``processes``: is a pid alive, is it one of our runners (portable, no ``/proc``);
- ``early_stop``: a stop signal that came while a transport was starting;
- ``nesting``: how deep a value nests (arguments, audited values);
- ``hosts``: which hosts are loopback (one rule for HTTP binds, OAuth URLs, doctor);
- ``collector``: the garbage collector paused while Kitaru is imported.

Nothing here imports Kitaru or ZenML. This wing may import only the standard
library, its third-party dependencies and the ``kitaru_mcp`` package itself.
"""
