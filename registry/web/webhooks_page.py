"""The webhooks of an officer's organisations, each with its latest deliveries."""

from __future__ import annotations

from typing import Any

from flask import render_template

from ..usecases import webhooks
from .auth import login_required, unit
from .pages import bp

LATEST = 5


@bp.route("/webhooks")
@login_required
def webhooks_page() -> Any:
    u = unit()
    listed = webhooks.listed(u)
    return render_template("webhooks.html", webhooks=[
        (hook, webhooks.log(u, hook.id)[:LATEST]) for hook in listed])
