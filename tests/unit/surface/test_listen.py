"""The sockets HTTP serves on: connections without Nagle, and workers on a port of their own."""

from __future__ import annotations

import asyncio
import socket
import sys

import pytest

from kitaru_mcp.surface import workers
from kitaru_mcp.surface.http_transport import HttpOptions, listen, listen_beside

pytestmark = pytest.mark.unit


def _nodelay_of_a_served_connection(listening: socket.socket) -> int:
    """TCP_NODELAY on the server side of one connection asyncio accepted on ``listening``."""

    async def serve() -> int:
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                sock = transport.get_extra_info("socket")
                seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        server = await asyncio.get_running_loop().create_server(Probe, sock=listening)
        port = listening.getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            return await asyncio.wait_for(seen, 10)
        finally:
            writer.close()
            server.close()

    return asyncio.run(serve())


def test_served_connections_have_nagle_off() -> None:
    """Else each request after the first on a keep-alive connection waits ~40 ms for the
    client's delayed ACK (asyncio sets TCP_NODELAY only on a socket that says it is TCP)."""
    listening = listen(HttpOptions(host="127.0.0.1", port=0))
    assert listening.proto == socket.IPPROTO_TCP
    assert _nodelay_of_a_served_connection(listening) != 0


@pytest.mark.skipif(not workers.kernel_balances(), reason="SO_REUSEPORT spreads on Linux")
def test_a_worker_listens_on_its_own_socket_beside_the_reserved_port() -> None:
    reserved = listen(HttpOptions(host="127.0.0.1", port=0), reserve_only=True)
    try:
        assert not reserved.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
        own = listen_beside(reserved)
        assert own is not reserved and own.getsockname() == reserved.getsockname()
        assert own.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
        assert _nodelay_of_a_served_connection(own) != 0
    finally:
        reserved.close()


def test_a_listening_socket_is_shared_as_it_is() -> None:
    shared = listen(HttpOptions(host="127.0.0.1", port=0))
    try:
        assert listen_beside(shared) is shared
    finally:
        shared.close()


def test_the_kernel_spreads_connections_only_on_linux() -> None:
    assert workers.kernel_balances() is sys.platform.startswith("linux")
