"""The autouse `no_internet` fixture blocks everything but loopback."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from tests.support.network import LookupBlocked, NetworkBlocked, NetworkGuard


def test_connect_to_a_private_address_is_blocked(no_internet: NetworkGuard) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        with pytest.raises(NetworkBlocked, match="10.255.255.1"):
            sock.connect(("10.255.255.1", 80))
        with pytest.raises(NetworkBlocked):
            sock.connect_ex(("10.255.255.1", 80))
    assert len(no_internet.attempts) == 2
    no_internet.attempts.clear()


def test_name_lookup_is_blocked(no_internet: NetworkGuard) -> None:
    with pytest.raises(LookupBlocked, match="example.com"):
        socket.getaddrinfo("example.com", 443)
    with pytest.raises(OSError):
        socket.create_connection(("example.com", 80), timeout=1)
    no_internet.attempts.clear()


async def test_http_clients_are_blocked(no_internet: NetworkGuard) -> None:
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get("http://example.com/")
        with pytest.raises(httpx.ConnectError):
            await client.get("http://10.255.255.1/", timeout=2)
    assert len(no_internet.attempts) == 2
    no_internet.attempts.clear()


async def test_loopback_still_works() -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.read(5))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        for host in ("127.0.0.1", "localhost"):
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(b"hello")
            assert await reader.read(5) == b"hello"
            writer.close()
            await writer.wait_closed()
    assert socket.getaddrinfo("localhost", port)


def test_unix_sockets_are_allowed() -> None:
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"x")
        assert right.recv(1) == b"x"
