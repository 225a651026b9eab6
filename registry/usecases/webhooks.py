"""Webhooks: make, list, read and delete them, read their delivery log, and ping one."""

from __future__ import annotations

from typing import Any

from ..governance import deliveries, webhooks
from ..jobs.queue import enqueue
from ..records import Delivery, Webhook
from .unit import Unit


def create(unit: Unit, data: dict[str, Any]) -> Webhook:
    with unit:
        return webhooks.create(unit.session, unit.actor, data, unit.now,
                               allow_private=bool(unit.app.config.get("WEBHOOK_PRIVATE")))


def listed(unit: Unit) -> list[Webhook]:
    return webhooks.visible(unit.session, unit.actor)


def find(unit: Unit, webhook_id: int) -> Webhook:
    return webhooks.find(unit.session, unit.actor, webhook_id)


def delete(unit: Unit, webhook_id: int) -> None:
    with unit:
        webhooks.delete(unit.session, unit.actor, find(unit, webhook_id), unit.now)


def log(unit: Unit, webhook_id: int) -> list[Delivery]:
    return webhooks.log(unit.session, find(unit, webhook_id))


def ping(unit: Unit, webhook_id: int) -> Delivery:
    """A test POST, sent by the job queue; the delivery as it stands once handed over."""
    with unit:
        delivery = deliveries.ping(unit.session, find(unit, webhook_id), unit.now)
    enqueue(unit.app, unit.session, unit.actor, "deliver", {"delivery_id": delivery.id},
            None)  # deliveries are the deployment's, as each names its own webhook
    unit.session.refresh(delivery)
    return delivery
