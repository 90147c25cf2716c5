"""Where rtudpd listens, found the way rtudpctl finds it (src/RtUdp.Client/DaemonAddress.cs)."""

import os
from typing import List, NamedTuple, Optional
from urllib.parse import urlsplit

SYSTEM_SOCKET = "/run/rtudp/rtudp.sock"
SOCKET_VARIABLE = "RTUDP_SOCKET"


class DaemonAddress(NamedTuple):
    """A unix socket (socket_path) or a TCP listener (host_port, tls for https://)."""

    socket_path: Optional[str] = None
    host_port: Optional[str] = None
    tls: bool = False

    @property
    def grpc_target(self) -> str:
        return f"unix:{self.socket_path}" if self.socket_path else str(self.host_port)

    def __str__(self) -> str:
        if self.socket_path:
            return self.socket_path
        return ("https://" if self.tls else "http://") + str(self.host_port)


def default_socket_candidates() -> List[str]:
    """$RTUDP_SOCKET alone when set; else, for root, the system service's socket first, then this user's
    ($XDG_RUNTIME_DIR/rtudp/rtudp.sock, or /tmp/rtudp-$USER/rtudp.sock), and the system socket last for others."""
    explicit = os.environ.get(SOCKET_VARIABLE)
    if explicit:
        return [explicit]
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        user = os.path.join(xdg, "rtudp", "rtudp.sock")
    else:
        user = os.path.join("/tmp", f"rtudp-{_user_name()}", "rtudp.sock")
    return [SYSTEM_SOCKET, user] if os.geteuid() == 0 else [user, SYSTEM_SOCKET]


def default_address() -> DaemonAddress:
    """The first existing candidate, else the first (so an error names where rtudpd was expected)."""
    candidates = default_socket_candidates()
    return DaemonAddress(socket_path=os.path.abspath(next((c for c in candidates if os.path.exists(c)), candidates[0])))


def parse_address(text: Optional[str]) -> DaemonAddress:
    """None: the default socket; "unix:PATH" or a path: a unix socket; "http://HOST:PORT" (plaintext HTTP/2) or
    "https://HOST:PORT" (TLS): rtudpd's TCP listener."""
    if text is None or text == "":
        return default_address()
    if text.startswith("unix:"):
        return DaemonAddress(socket_path=os.path.abspath(text[len("unix:"):]))
    if "://" not in text:
        return DaemonAddress(socket_path=os.path.abspath(text))
    url = urlsplit(text)
    if url.scheme not in ("http", "https") or not url.hostname or url.port is None:
        raise ValueError(f"'{text}' is not a daemon address such as /run/rtudp/rtudp.sock, http://127.0.0.1:50051 or https://host:50051")
    host = f"[{url.hostname}]" if ":" in url.hostname else url.hostname
    return DaemonAddress(host_port=f"{host}:{url.port}", tls=url.scheme == "https")


def _user_name() -> str:
    # Environment.UserName in .NET: the login name of the effective user.
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError):
        return os.environ.get("USER", "root")
