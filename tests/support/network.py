"""Keep tests off the network: only loopback and unix sockets may be reached."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from typing import Any

_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


class NetworkBlocked(ConnectionRefusedError):
    """A test tried to reach a non-loopback address."""


class LookupBlocked(socket.gaierror):
    """A test tried to resolve a name that is not local."""


def is_local_host(host: Any) -> bool:
    """True for loopback and unspecified IPs, `localhost` names and a missing host."""
    if host is None or host == "":
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.strip("[]").split("%", 1)[0].lower()
    if name in _LOCAL_NAMES or name.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_unspecified


@dataclass
class NetworkGuard:
    """Patches socket connect/lookup; remembers every blocked attempt."""

    attempts: list[str] = field(default_factory=list)

    def _check_address(self, sock: socket.socket, address: Any) -> None:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return  # unix sockets, socketpairs, netlink: local by nature
        host = address[0] if isinstance(address, tuple) and address else address
        if not is_local_host(host):
            self._block(f"connect to {address!r}")

    def _block(self, what: str) -> None:
        note = f"tests must not use the network: {what} was blocked (only loopback is allowed)"
        self.attempts.append(note)
        raise NetworkBlocked(note)

    def install(self, monkeypatch: Any) -> None:
        """Patch socket.socket.connect / connect_ex and socket.getaddrinfo."""
        real_connect = socket.socket.connect
        real_connect_ex = socket.socket.connect_ex
        real_getaddrinfo = socket.getaddrinfo
        guard = self

        def connect(sock: socket.socket, address: Any) -> None:
            guard._check_address(sock, address)
            real_connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> int:
            guard._check_address(sock, address)
            return real_connect_ex(sock, address)

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            if not is_local_host(host):
                note = (
                    f"tests must not use the network: lookup of {host!r} was blocked "
                    "(only loopback is allowed)"
                )
                guard.attempts.append(note)
                raise LookupBlocked(socket.EAI_NONAME, note)
            return real_getaddrinfo(host, *args, **kwargs)

        monkeypatch.setattr(socket.socket, "connect", connect)
        monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
