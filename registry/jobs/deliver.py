"""The job that sends one delivery: a webhook's signed POST, or an email.

The delivery is claimed and that committed before anything is sent, so the attempt is never made
twice at once and the database is not held while a receiver answers; the attempt is then logged
(with the backoff of a failure) as the job's own result. A failed attempt is no failed job: the
delivery is due again after its backoff (`gatehouse notify deliver` sends what is due).
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from ..governance import deliveries
from ..governance.actors import Actor
from ..governance.webhooks import signature
from ..platform import outbound
from ..platform.services import Services
from ..records import Delivery, Webhook


def deliver(session: Session, services: Services, actor: Actor, p: dict[str, Any]
            ) -> tuple[str, int]:
    delivery = deliveries.claim(session, p["delivery_id"], services.clock.now())
    if delivery is None:  # sent already, given up, or not yet due: nothing to do
        session.rollback()
        return "delivery", p["delivery_id"]
    session.commit()
    outcome = _send(session, services, delivery)
    deliveries.record_attempt(delivery, services.clock.now(), outcome.status, outcome.error,
                              outcome.ms)
    return "delivery", delivery.id


def _send(session: Session, services: Services, delivery: Delivery) -> outbound.Outcome:
    if delivery.channel == "webhook":
        webhook = session.get(Webhook, delivery.webhook_id)
        if webhook is None or webhook.deleted_at is not None:
            return outbound.Outcome(None, "the webhook was deleted", 0)
        body = delivery.body.encode()
        timestamp = int(services.clock.now().timestamp())
        return outbound.post(webhook.url, body, {
            "Gatehouse-Event": delivery.kind, "Gatehouse-Delivery": str(delivery.id),
            "Gatehouse-Signature": signature(webhook.secret, timestamp, body)},
            allow_private=bool(current_app.config.get("WEBHOOK_PRIVATE")))
    smtp_url = current_app.config.get("SMTP_URL")
    if not smtp_url:
        return outbound.Outcome(None, "email is off: GATEHOUSE_SMTP_URL is not set", 0)
    try:
        smtp = outbound.parse_smtp_url(smtp_url)
    except ValueError as exc:
        return outbound.Outcome(None, str(exc), 0)
    return outbound.send_mail(smtp, current_app.config.get("MAIL_SENDER") or "gatehouse@localhost",
                              delivery.recipients or [], delivery.subject or "Gatehouse",
                              delivery.body)
