"""A real rtudpd of its own for the tests and the benchmark: temporary unix socket, runtime and engine directories,
started with the embedded defaults plus a config naming them, ready when it sends sd_notify READY=1.

rtudpd is the one `dotnet build -c Release` made (src/RtUdp.Daemon/bin/Release/net10.0/rtudpd), or $RTUDPD.
"""

import os
import re
import signal
import socket
import subprocess
import time
from typing import NamedTuple

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
RTUDPD = os.environ.get("RTUDPD", os.path.join(REPO, "src", "RtUdp.Daemon", "bin", "Release", "net10.0", "rtudpd"))
RTUDPCTL = os.environ.get("RTUDPCTL", os.path.join(REPO, "src", "RtUdp.Ctl", "bin", "Release", "net10.0", "rtudpctl"))
START_TIMEOUT_S = 60.0


class Daemon(NamedTuple):
    socket_path: str
    tcp_address: str  # http://127.0.0.1:PORT (https:// with TLS)
    root: str
    log_path: str
    process: subprocess.Popen

    def log(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()


def _wait_ready(notify: socket.socket, process: subprocess.Popen, log_path: str) -> None:
    """Waits for sd_notify READY=1 (rtudpd sends it once listening, with its engine running and warmed up)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"rtudpd exited ({process.returncode}) before READY=1:\n" + open(log_path).read())
        notify.settimeout(max(0.01, min(1.0, deadline - time.monotonic())))
        try:
            message = notify.recv(4096).decode()
        except socket.timeout:
            continue
        if "READY=1" in message.split("\n"):
            return
    raise RuntimeError(f"rtudpd sent no READY=1 within {START_TIMEOUT_S} s:\n" + open(log_path).read())


def start_daemon(root: str, tls: str = "") -> Daemon:
    """tls: a JSON object for Listen:Tls (then the TCP listener speaks TLS: tcp_address is https://)."""
    if not os.access(RTUDPD, os.X_OK):
        raise RuntimeError(f"no rtudpd at {RTUDPD}: build it first (dotnet build -c Release src/RtUdp.Daemon) or set RTUDPD")
    sock = os.path.join(root, "rtudp.sock")
    config = os.path.join(root, "rtudp.json")
    with open(config, "w") as f:
        f.write('{ "Listen": { "UnixSocket": "%s", "Tcp": "127.0.0.1:0"%s }, "Http": { "Listen": "127.0.0.1:0" },'
                ' "Engine": { "LockMemory": false, "Directory": "%s", "DrainWindow": "200ms" } }'
                % (sock, f', "Tls": {tls}' if tls else "", os.path.join(root, "engine")))
    os.makedirs(os.path.join(root, "xdg"), mode=0o700)
    notify_path = os.path.join(root, "notify.sock")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RTUDP_") and k not in ("RUNTIME_DIRECTORY", "JOURNAL_STREAM")}
    env.update(XDG_RUNTIME_DIR=os.path.join(root, "xdg"), NOTIFY_SOCKET=notify_path)
    log_path = os.path.join(root, "rtudpd.log")
    with open(log_path, "wb") as log:
        process = subprocess.Popen([RTUDPD, "--config", config], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root)
    try:
        _wait_ready(notify, process, log_path)
    except BaseException:
        process.kill()
        process.wait()
        raise
    finally:
        notify.close()
    match = re.search(r"Listening on (https?://127\.0\.0\.1:\d+) \((plaintext HTTP/2|TLS)", open(log_path).read())
    if match is None:
        raise RuntimeError("rtudpd logged no TCP listener:\n" + open(log_path).read())
    return Daemon(sock, match.group(1), root, log_path, process)


def stop_daemon(daemon: Daemon) -> None:
    if daemon.process.poll() is None:
        daemon.process.send_signal(signal.SIGTERM)
        try:
            daemon.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.process.kill()
            daemon.process.wait()
