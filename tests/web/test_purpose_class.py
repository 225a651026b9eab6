"""A model for aggregate analysis never reads as usable for scoring a case."""

from __future__ import annotations

import re
from typing import Any

from ..chain import build_chain
from ..conftest import Api


def test_an_aggregate_analysis_model_is_not_said_to_be_usable_for_scoring(
        api: Api, browser: Any) -> None:
    chain = build_chain(api, purpose_class="aggregate_analysis")
    olivia = browser("olivia")
    version = olivia.get(f"/models/{chain.model}/versions/{chain.version}").get_data(as_text=True)
    assert "For aggregate analysis only: never to score a case" in version
    model = olivia.get(f"/models/{chain.model}").get_data(as_text=True)
    assert "Aggregate analysis only" in model
    assert not re.search(r"govuk-tag--green\"?>\s*Yes\s*<", model)
