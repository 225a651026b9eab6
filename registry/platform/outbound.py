"""Messages out of the register: an HTTP POST (webhooks) and an email over SMTP.

Each returns what happened rather than raising, so the caller can log the attempt and try again
later. Redirects are not followed (a webhook answers where it was registered, or fails), and no
answer's body is kept. The SMTP password, if the URL holds one, is never logged or returned.
"""

from __future__ import annotations

import http.client
import ipaddress
import smtplib
import socket
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

TIMEOUT_SECONDS = 10
USER_AGENT = "Gatehouse-Webhooks/1"


@dataclass(frozen=True)
class Outcome:
    status: int | None  # the HTTP status, or None (no answer, or email)
    error: str | None  # None: delivered
    ms: int


def _resolve(host: str, port: int) -> list[str]:
    """Every address the host is or resolves to for a TCP connection (OSError if none)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except UnicodeError as exc:
        raise OSError(f"{host!r} is not a valid host name") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in found))  # in order, once each


def _not_public(addresses: list[str]) -> str | None:
    for address in sorted(addresses):
        if not ipaddress.ip_address(address.split("%")[0]).is_global:
            return address
    return None


def private_address(host: str) -> str | None:
    """The first address the host is or resolves to that is not on the public internet
    (loopback, private, link-local such as a cloud's metadata service, reserved), or None; a
    name that does not resolve is None here (its delivery fails, saying so)."""
    try:
        return _not_public(_resolve(host, 0))
    except OSError:
        return None


def _connect(addresses: list[str], port: int, timeout: float) -> socket.socket:
    """A TCP connection to the first of the addresses that answers."""
    last: OSError = OSError("no address to connect to")
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout)
        except OSError as exc:
            last = exc
    raise last


class _PinnedHTTP(http.client.HTTPConnection):
    """HTTP to addresses resolved (and checked) beforehand: the name is never resolved again,
    so it cannot be made to resolve elsewhere between the check and the connection (DNS
    rebinding); the Host header stays the name."""

    def __init__(self, host: str, port: int, addresses: list[str], timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.addresses = addresses

    def connect(self) -> None:
        self.sock = _connect(self.addresses, self.port, self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS likewise: the TLS server name (SNI) and the certificate checked are the name's."""

    def __init__(self, host: str, port: int, addresses: list[str], timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.addresses = addresses

    def connect(self) -> None:
        sock = _connect(self.addresses, self.port, self.timeout)
        try:
            self.sock = self._context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


def post(url: str, body: bytes, headers: dict[str, str], allow_private: bool = False
         ) -> Outcome:
    """POST the body; any 2xx answer is delivered. A host on a private or loopback address is
    refused unless the deployment allows it (GATEHOUSE_WEBHOOK_PRIVATE), so a webhook cannot
    be made to probe the register's own network; checked at each attempt, as a name may
    resolve elsewhere later, and the connection goes to the addresses checked (the name is
    resolved once). Redirects are not followed: a 3xx answer is a failed attempt."""
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        parts = urlsplit(url)
        scheme, host = parts.scheme.lower(), parts.hostname or ""
        port = parts.port or (443 if scheme == "https" else 80)
        if scheme not in ("http", "https") or not host:
            raise ValueError(f"{url[:80]!r} is not an http:// or https:// URL with a host")
        addresses = _resolve(host, port)
    except (OSError, ValueError) as exc:
        return Outcome(None, f"could not be reached: {exc}"[:200], took())
    private = None if allow_private else _not_public(addresses)
    if private is not None:
        return Outcome(None, f"refused: {host} is a private or loopback address ({private})", 0)
    kind = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
    connection = kind(host, port, addresses, TIMEOUT_SECONDS)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", target, body=body, headers={
            "Content-Type": "application/json", "User-Agent": USER_AGENT, **headers})
        answer = connection.getresponse()
        status = answer.status
        error = None if 200 <= status < 300 else f"answered {status} {answer.reason}"[:200]
    except (OSError, http.client.HTTPException, ValueError) as exc:
        status, error = None, f"could not be reached: {exc or type(exc).__name__}"[:200]
    finally:
        connection.close()  # no answer's body is kept
    return Outcome(status, error, took())


@dataclass(frozen=True)
class Smtp:
    """``GATEHOUSE_SMTP_URL``: ``smtp://host:port`` (``?starttls=1`` to upgrade), or
    ``smtps://host:port`` (TLS from the start); ``user:password@`` to log in."""

    host: str
    port: int
    tls: str  # "none" | "starttls" | "ssl"
    username: str | None
    password: str | None

    def __repr__(self) -> str:  # never the password
        return f"Smtp({self.host}:{self.port}, tls={self.tls}, user={self.username!r})"


def parse_smtp_url(url: str) -> Smtp:
    """The SMTP server a URL names; ValueError naming the problem (never echoing a password)."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("GATEHOUSE_SMTP_URL must start smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("GATEHOUSE_SMTP_URL must name a host, e.g. smtp://127.0.0.1:25")
    starttls = parse_qs(parts.query).get("starttls", ["0"])[-1].lower() in ("1", "true", "yes")
    tls = "ssl" if parts.scheme == "smtps" else "starttls" if starttls else "none"
    return Smtp(parts.hostname, parts.port or (465 if tls == "ssl" else 25), tls,
                unquote(parts.username) if parts.username else None,
                unquote(parts.password) if parts.password else None)


def send_mail(smtp: Smtp, sender: str, recipients: list[str], subject: str, body: str) -> Outcome:
    """Send one plain-text email to every recipient (each in the envelope; the To header too)."""
    started = time.monotonic()
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, ", ".join(recipients), subject
    message.set_content(body)
    try:
        context = ssl.create_default_context()
        if smtp.tls == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=TIMEOUT_SECONDS,
                                                    context=context)
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=TIMEOUT_SECONDS)
        with client:
            if smtp.tls == "starttls":
                client.starttls(context=context)
            if smtp.username:
                client.login(smtp.username, smtp.password or "")
            client.send_message(message, from_addr=sender, to_addrs=recipients)
        error = None
    except (smtplib.SMTPException, OSError) as exc:
        error = f"the mail server refused or could not be reached: {type(exc).__name__}"
        if isinstance(exc, smtplib.SMTPResponseException):
            error += f" {exc.smtp_code}"
    return Outcome(None, error, int((time.monotonic() - started) * 1000))
