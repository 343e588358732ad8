"""A machine with its network down, for real: a Linux network namespace with loopback only (`ip netns`, as root).

Its resolv.conf (bind-mounted by `ip netns exec` from /etc/netns/<name>/) points at 127.0.0.1, where either nothing
listens ("fail": every lookup is refused at once) or a UDP socket reads every query and never answers ("hang": the
C library waits its full timeout, as with a dead DNS server). Commands run inside with `run` or `popen`.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

_count = itertools.count()

BLACKHOLE = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
print("ready", flush=True)
while True:
    s.recvfrom(4096)  # read the query, never answer
"""


def unavailable() -> str | None:
    """Why network namespaces cannot be used here (not root, no `ip`, no kernel support), or None."""
    if sys.platform != "linux":
        return "network namespaces are Linux only"
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        # iproute2 is a Debian package: install it as the browser test installs chromium.
        if shutil.which("apt-get"):
            subprocess.run(["apt-get", "install", "-y", "-q", "iproute2"], capture_output=True, timeout=300)
        if shutil.which("ip") is None:
            return "no `ip` command (iproute2) and it could not be installed"
    probe = f"stp-probe-{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


class LoopbackOnly:
    """`with LoopbackOnly("hang") as net: net.run([...])`: commands run with loopback only and the chosen DNS."""

    def __init__(self, resolver: str = "fail", dns_wait: int = 30):
        if resolver not in ("fail", "hang"):
            raise ValueError("resolver is 'fail' or 'hang'")
        self.resolver = resolver
        self.dns_wait = dns_wait  # seconds the C library waits per attempt (30 is its maximum)
        self.name = f"stp-{os.getpid()}-{next(_count)}"
        self.etc = Path("/etc/netns") / self.name
        self._blackhole: subprocess.Popen | None = None

    def __enter__(self) -> LoopbackOnly:
        subprocess.run(["ip", "netns", "add", self.name], check=True, capture_output=True)
        try:
            subprocess.run(["ip", "netns", "exec", self.name, "ip", "link", "set", "lo", "up"], check=True,
                           capture_output=True)
            self.etc.mkdir(parents=True, exist_ok=True)
            wait = 1 if self.resolver == "fail" else self.dns_wait
            (self.etc / "resolv.conf").write_text(f"nameserver 127.0.0.1\noptions timeout:{wait} attempts:2\n")
            if self.resolver == "hang":
                self._blackhole = subprocess.Popen(self.command([sys.executable, "-c", BLACKHOLE]),
                                                   stdout=subprocess.PIPE, text=True)
                assert self._blackhole.stdout is not None
                if self._blackhole.stdout.readline().strip() != "ready":
                    raise RuntimeError("the hanging DNS server did not start")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_: Any) -> None:
        if self._blackhole is not None and self._blackhole.poll() is None:
            self._blackhole.kill()
            self._blackhole.wait(10)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
        shutil.rmtree(self.etc, ignore_errors=True)

    def command(self, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *argv]

    def run(self, argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess:
        kwargs.setdefault("capture_output", True)
        kwargs.setdefault("text", True)
        return subprocess.run(self.command(argv), **kwargs)

    def popen(self, argv: list[str], **kwargs: Any) -> subprocess.Popen:
        return subprocess.Popen(self.command(argv), **kwargs)


def timed(net: LoopbackOnly, argv: list[str], **kwargs: Any) -> tuple[subprocess.CompletedProcess, float]:
    """Run `argv` in the namespace; the result and its wall time in seconds."""
    started = time.monotonic()
    result = net.run(argv, **kwargs)
    return result, time.monotonic() - started
