"""Resolvers for tests, named in TWISTED_DNS_RESOLVER / DNS_RESOLVER: one that fails every name at once, and one
that asks a DNS server on 127.0.0.1 that reads every query and never answers (no timeout of its own)."""

from __future__ import annotations

import os
import socket
import struct
import threading

from crawler.resolver import BoundedResolver

PORT_ENV = "STP_TEST_BLACKHOLE_DNS"  # the port of the server that never answers


class NoDnsResolver(BoundedResolver):
    """Every name fails at once, as with no DNS server at all (addresses such as 127.0.0.1 still work)."""

    def resolve_now(self, name: str) -> str:
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")


class BlackholeResolver(BoundedResolver):
    """Sends a real DNS query to 127.0.0.1:$STP_TEST_BLACKHOLE_DNS and waits for an answer that never comes."""

    def resolve_now(self, name: str) -> str:
        query = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
        query += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(query, ("127.0.0.1", int(os.environ[PORT_ENV])))
            s.recv(512)  # blocks for ever: only DNS_TIMEOUT ends the lookup
        raise AssertionError("the black hole answered")


class Blackhole:
    """A UDP 'DNS server' on 127.0.0.1 that counts queries and never answers."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.queries: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                data, _ = self.sock.recvfrom(4096)
            except OSError:
                return
            self.queries.append(data)

    def names(self) -> list[str]:
        """The names asked for."""
        out = []
        for q in self.queries:
            labels, i = [], 12
            while i < len(q) and q[i]:
                labels.append(q[i + 1:i + 1 + q[i]].decode(errors="replace"))
                i += 1 + q[i]
            out.append(".".join(labels))
        return out

    def close(self) -> None:
        self.sock.close()
