"""A webhook's POST goes to the address its host was checked at: the name is resolved once, so a
name that resolves to a public address for the check and to loopback a moment later (DNS
rebinding) cannot carry the POST into the register's own network. The Host header and the TLS
server name (SNI) stay the name."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from registry.platform import outbound

from .live_receivers import Receiver, http_receiver

PUBLIC = "93.184.216.34"  # a global address (nothing here reaches it)
UNREACHABLE = "192.0.2.1"  # TEST-NET-1: documentation only


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with http_receiver() as r:
        yield r


def _port(receiver: Receiver) -> int:
    return int(receiver.url.split(":")[2].split("/")[0])


class Rebinding:
    """`rebind.test` resolves to `first` the first time it is asked, to `then` every time after;
    every other name as the system resolves it. Counts the questions about `rebind.test`."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, first: str, then: str) -> None:
        self.asked = 0
        real = socket.getaddrinfo

        def getaddrinfo(host: Any, port: Any, *args: Any, **kw: Any) -> Any:
            if host != "rebind.test":
                return real(host, port, *args, **kw)
            self.asked += 1
            address = first if self.asked == 1 else then
            return real(address, port, *args, **kw)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_a_name_for_loopback_is_refused_unless_private_is_allowed(receiver: Receiver) -> None:
    url = f"http://localhost:{_port(receiver)}/hooks/gatehouse?x=1"
    refused = outbound.post(url, b"{}", {"Gatehouse-Event": "version.suspended"})
    assert refused.status is None and refused.error is not None
    assert refused.error.startswith("refused: localhost is a private or loopback address (")
    assert receiver.received == []
    allowed = outbound.post(url, b"{}", {"Gatehouse-Event": "version.suspended"},
                            allow_private=True)
    assert (allowed.status, allowed.error) == (200, None)
    [got] = receiver.received
    assert got.path == "/hooks/gatehouse?x=1" and got.body == b"{}"
    assert got.headers["Host"] == f"localhost:{_port(receiver)}"  # the name, not the address
    assert got.headers["User-Agent"] == outbound.USER_AGENT


def test_a_name_rebound_to_loopback_after_the_check_is_not_reached(
        monkeypatch: pytest.MonkeyPatch, receiver: Receiver) -> None:
    monkeypatch.setattr(outbound, "TIMEOUT_SECONDS", 1)
    names = Rebinding(monkeypatch, first=PUBLIC, then="127.0.0.1")
    outcome = outbound.post(f"http://rebind.test:{_port(receiver)}/hooks/gatehouse", b"{}", {})
    assert receiver.received == []  # the POST went to the address checked, not to loopback
    assert outcome.status is None and outcome.error is not None
    assert outcome.error.startswith("could not be reached"), outcome.error
    assert names.asked == 1


def test_the_connection_goes_to_the_address_checked(monkeypatch: pytest.MonkeyPatch,
                                                    receiver: Receiver) -> None:
    """Where private addresses are allowed, the one checked is still the one used: resolved
    again, the name would point nowhere."""
    monkeypatch.setattr(outbound, "TIMEOUT_SECONDS", 1)
    names = Rebinding(monkeypatch, first="127.0.0.1", then=UNREACHABLE)
    outcome = outbound.post(f"http://rebind.test:{_port(receiver)}/hooks/gatehouse", b"{}", {},
                            allow_private=True)
    assert (outcome.status, outcome.error) == (200, None)
    assert [r.headers["Host"] for r in receiver.received] == [f"rebind.test:{_port(receiver)}"]
    assert names.asked == 1


def _self_signed(folder: Path, name: str) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_tls_names_the_host_not_the_address(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    """Over HTTPS the server is asked for the name (SNI) and its certificate is checked against
    the name: a certificate no authority signed fails the attempt, saying so."""
    cert, key = _self_signed(tmp_path, "rebind.test")
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert, key)
    asked_for: list[str | None] = []
    server_side.sni_callback = lambda _sock, name, _ctx: asked_for.append(name)  # type: ignore
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        try:
            with server_side.wrap_socket(conn, server_side=True):
                pass
        except (ssl.SSLError, OSError):
            pass  # the client refuses the certificate
        finally:
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    Rebinding(monkeypatch, first="127.0.0.1", then=UNREACHABLE)
    try:
        outcome = outbound.post(f"https://rebind.test:{port}/hooks", b"{}", {},
                                allow_private=True)
    finally:
        thread.join(5)
        listener.close()
    assert asked_for == ["rebind.test"]
    assert outcome.status is None and outcome.error is not None
    assert "certificate verify failed" in outcome.error, outcome.error
