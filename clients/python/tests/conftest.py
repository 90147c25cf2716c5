"""pytest fixtures: a real rtudpd of the tests' own (daemon_process.py).

The `rtudp` imported here must be the installed package (./test.sh installs it into a temporary venv), not
the source tree: the source tree has no stubs.
"""

import os
import socket
import tempfile
import time
from typing import Iterator

import pytest

from daemon_process import RTUDPCTL, Daemon, start_daemon, stop_daemon  # noqa: F401


@pytest.fixture(scope="session")
def daemon() -> Iterator[Daemon]:
    with tempfile.TemporaryDirectory(prefix="rtudp-pytest-") as root:
        d = start_daemon(root)
        try:
            yield d
        finally:
            stop_daemon(d)


@pytest.fixture
def default_socket(daemon: Daemon, monkeypatch: pytest.MonkeyPatch) -> str:
    """The daemon as the default one ($RTUDP_SOCKET), so that code without an address finds it as rtudpctl would."""
    monkeypatch.setenv("RTUDP_SOCKET", daemon.socket_path)
    return daemon.socket_path


def free_udp_port(address: str) -> int:
    """A port nothing uses on address now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def wait_until(condition, timeout_s: float, what: str, interval_s: float = 0.002):
    """Polls condition() until it returns something truthy; fails the test after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"no {what} within {timeout_s} s")
        time.sleep(interval_s)
