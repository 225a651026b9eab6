"""`gatehouse notify`: send the deliveries due (cron it every few minutes) and the daily digest."""

from __future__ import annotations

from collections import Counter

import click
from flask import current_app
from flask.cli import with_appcontext


@click.group("notify", help="Events by webhook and email.")
def notify_group() -> None:
    pass


@notify_group.command("deliver")
@with_appcontext
def deliver_command() -> None:
    """Raise the events not yet raised, and send every delivery due (new ones, and failed ones
    whose backoff is over). Without Celery they are sent here, one after another."""
    from ..jobs import notify

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    sent = notify.send(app, calendar=False, inline=True)
    _report(sent)


@notify_group.command("digest")
@with_appcontext
def digest_command() -> None:
    """Email each owner and officer the day's events that were not urgent (run it daily)."""
    from ..jobs import notify

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("SMTP_URL"):
        click.echo("email is off (GATEHOUSE_SMTP_URL is not set): no digest sent")
        return
    notify.send(app, calendar=False)
    _report(notify.digest(app, inline=True))


def _report(sent: list) -> None:  # type: ignore[type-arg]
    for d in sent:
        to = d.recipients and ", ".join(d.recipients) or f"webhook {d.webhook_id}"
        click.echo(f"delivery {d.id} ({d.channel} {d.kind} to {to}): {d.state}"
                   + (f" — {d.attempts_log[-1]['error']}" if d.state != "succeeded"
                      and d.attempts_log else ""))
    states = Counter(d.state for d in sent)
    click.echo(f"{len(sent)} delivery(ies): " + (", ".join(
        f"{n} {state}" for state, n in sorted(states.items())) or "nothing due"))
