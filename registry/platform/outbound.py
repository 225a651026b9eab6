"""Messages out of the register: an HTTP POST (webhooks) and an email over SMTP.

Each returns what happened rather than raising, so the caller can log the attempt and try again
later. Redirects are not followed (a webhook answers where it was registered, or fails), and no
answer's body is kept. The SMTP password, if the URL holds one, is never logged or returned.
"""

from __future__ import annotations

import ipaddress
import smtplib
import socket
import ssl
import time
import urllib.error
import urllib.request
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


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None  # the 3xx answer is then raised as an HTTPError: a failed attempt


_opener = urllib.request.build_opener(_NoRedirects)


def private_address(host: str) -> str | None:
    """The first address the host is or resolves to that is not on the public internet
    (loopback, private, link-local such as a cloud's metadata service, reserved), or None; a
    name that does not resolve is None here (its delivery fails, saying so)."""
    try:
        found = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (OSError, UnicodeError):
        return None
    for address in sorted(found):
        if not ipaddress.ip_address(address.split("%")[0]).is_global:
            return address
    return None


def post(url: str, body: bytes, headers: dict[str, str], allow_private: bool = False
         ) -> Outcome:
    """POST the body; any 2xx answer is delivered. A host on a private or loopback address is
    refused unless the deployment allows it (GATEHOUSE_WEBHOOK_PRIVATE), so a webhook cannot
    be made to probe the register's own network; checked at each attempt, as a name may
    resolve elsewhere later."""
    started = time.monotonic()
    host = urlsplit(url).hostname or ""
    private = None if allow_private else private_address(host)
    if private is not None:
        return Outcome(None, f"refused: {host} is a private or loopback address ({private})", 0)
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": USER_AGENT, **headers})
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as answer:
            status = answer.status
        error = None if 200 <= status < 300 else f"answered {status}"
    except urllib.error.HTTPError as exc:
        status, error = exc.code, f"answered {exc.code} {exc.reason}"[:200]
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        status, error = None, f"could not be reached: {reason}"[:200]
    return Outcome(status, error, int((time.monotonic() - started) * 1000))


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
