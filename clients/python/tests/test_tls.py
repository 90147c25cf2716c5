"""TLS to rtudpd's TCP listener: a daemon of the test's own with a certificate of a CA the test makes (openssl),
requiring client certificates of that CA."""

import subprocess
import tempfile

import pytest

import rtudp
from rtudp import Client, RtUdp

from daemon_process import start_daemon, stop_daemon


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _certificates(directory):
    """ca.pem; server.pem/server.key for 127.0.0.1; client.pem/client.key; all signed by the CA."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=rtudp test CA", cwd=directory)
    for name, extension in (("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth"), ("client", "extendedKeyUsage=clientAuth")):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN=rtudp test {name}", cwd=directory)
        with open(f"{directory}/{name}.ext", "w") as f:
            f.write(extension + "\n")
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", f"{name}.pem",
                 "-days", "2", "-extfile", f"{name}.ext", cwd=directory)


@pytest.fixture(scope="module")
def tls_daemon():
    with tempfile.TemporaryDirectory(prefix="rtudp-pytest-tls-") as root:
        _certificates(root)
        daemon = start_daemon(root, tls='{ "CertificatePath": "%s/server.pem", "KeyPath": "%s/server.key", '
                                        '"ClientCertificateAuthorityPath": "%s/ca.pem", "RequireClientCertificate": true }' % (root, root, root))
        try:
            yield daemon
        finally:
            stop_daemon(daemon)


def test_tls_with_a_client_certificate(tls_daemon):
    root = tls_daemon.root
    assert tls_daemon.tcp_address.startswith("https://")
    client = Client(tls_daemon.tcp_address, ca=f"{root}/ca.pem", cert=f"{root}/client.pem", key=f"{root}/client.key")
    assert client.address.tls and client.clock_ns() > 0
    with RtUdp("127.0.0.1", 0, direction=1, daemon=client, priority=0) as rx, \
         RtUdp("127.0.0.1", 0, "127.0.0.1", rx.local_port, direction=0, daemon=client, priority=0) as tx:
        tx.send_data(b"over tls", tx.clock_ns() + 1_000_000)
        assert rx.receive_data(timeout_ns=5_000_000_000)[0] == b"over tls"
    client.close()


def test_tls_without_a_client_certificate_is_refused(tls_daemon):
    client = Client(tls_daemon.tcp_address, ca=f"{tls_daemon.root}/ca.pem", call_timeout_s=10)
    with pytest.raises(rtudp.DaemonUnreachableError) as caught:
        client.clock_ns()
    assert caught.value.address == tls_daemon.tcp_address


def test_tls_files_for_a_plaintext_address_are_refused():
    with pytest.raises(ValueError, match="not an https://"):
        Client("http://127.0.0.1:50051", ca="/etc/ssl/certs/ca-certificates.crt")
