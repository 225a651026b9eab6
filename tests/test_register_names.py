"""The public register when two organisations have a tool of the same name (names are each
organisation's own): every link names the organisation (`?organisation=SLUG`, as in the API), a
page that names it shows that organisation's tool, and the bare name, where it is ambiguous,
answers 300 with each organisation's tool to choose from: never a guess, never a 5xx."""

from __future__ import annotations

import csv
import html
import io
import re
from typing import Any

from flask import Flask

from . import builders as b
from .chain import build_chain, ok
from .conftest import Api
from .test_organisations import add_eastbrook
from .test_receipt_chain import _scored

NORTH, EAST = "northmere-borough-council", "eastbrook"
TITLES = {"sam": "Northmere HMO finder", "eli": "Eastbrook HMO finder"}


def _both_have_hmo_finder(app: Flask, api: Api, submit_east: bool = True) -> None:
    add_eastbrook(app, api)
    for who in ("sam", "eli"):
        ok(api.post("/api/v1/models", as_=who, json=b.model("hmo-finder", title=TITLES[who])),
           201)
        if who == "sam" or submit_east:  # submitted: planned, on the public register
            ok(api.post("/api/v1/models/hmo-finder/submit", as_=who))


def _links(page: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="(/transparency/hmo-finder[^"]*)"', page)]


def _text(response: Any) -> str:
    return response.get_data(as_text=True)


def test_the_bare_name_of_two_councils_tools_asks_which(app: Flask, api: Api) -> None:
    _both_have_hmo_finder(app, api)
    public = app.test_client()
    response = public.get("/transparency/hmo-finder")
    assert response.status_code == 300 and response.mimetype == "text/html"
    page = _text(response)
    assert "2 organisations have a tool named hmo-finder" in page
    assert sorted(_links(page)) == [f"/transparency/hmo-finder?organisation={EAST}",
                                    f"/transparency/hmo-finder?organisation={NORTH}"]
    assert "Northmere Borough Council" in page and "Eastbrook District Council" in page
    for slug, title, other in ((NORTH, "Northmere HMO finder", "Eastbrook HMO finder"),
                               (EAST, "Eastbrook HMO finder", "Northmere HMO finder")):
        own = public.get(f"/transparency/hmo-finder?organisation={slug}")
        assert own.status_code == 200
        assert title in _text(own) and other not in _text(own)
    response = public.get("/transparency/hmo-finder?organisation=nowhere")
    assert response.status_code == 404


def test_the_register_links_each_to_its_own_organisations_page(app: Flask, api: Api) -> None:
    _both_have_hmo_finder(app, api)
    public = app.test_client()
    index = _text(public.get("/transparency"))
    links = _links(index)
    assert sorted(links) == [f"/transparency/hmo-finder?organisation={EAST}",
                             f"/transparency/hmo-finder?organisation={NORTH}"]
    # each link, followed, is the tool listed beside it
    for link in links:
        slug = link.rsplit("=", 1)[1]
        title = TITLES["sam" if slug == NORTH else "eli"]
        assert title in _text(public.get(link))
    websites = {r["tier_1"]["organisation"]: r["tier_1"]["website"]
                for r in public.get("/transparency.json").get_json()["records"]}
    assert websites["Northmere Borough Council"].endswith(f"?organisation={NORTH}")
    assert websites["Eastbrook District Council"].endswith(f"?organisation={EAST}")


def test_a_name_only_one_council_publishes_is_found_by_it_alone(app: Flask, api: Api) -> None:
    _both_have_hmo_finder(app, api, submit_east=False)  # Eastbrook's is a draft: not public
    response = app.test_client().get("/transparency/hmo-finder")
    assert response.status_code == 200 and "Northmere HMO finder" in _text(response)
    assert app.test_client().get(
        f"/transparency/hmo-finder?organisation={EAST}").status_code == 404


def test_a_verified_receipt_links_its_own_organisations_tool(app: Flask, api: Api) -> None:
    chain = build_chain(api)
    [result] = _scored(api, chain.model, rows=1)
    page = _text(app.test_client().get(f"/verify/{result['verify_code']}"))
    assert (f'href="/transparency/{chain.model}?organisation={NORTH}"') in page


def test_each_record_of_the_export_has_an_id_of_its_own(app: Flask, api: Api) -> None:
    """Two councils' tools of one name are two records: their ids (JSON and CSV) differ, and each
    names its organisation."""
    _both_have_hmo_finder(app, api)
    public = app.test_client()
    records = public.get("/transparency.json").get_json()["records"]
    ids = sorted(r["id"] for r in records)
    assert ids == [f"{EAST}/hmo-finder", f"{NORTH}/hmo-finder"], ids
    rows = list(csv.DictReader(io.StringIO(public.get("/transparency.csv").get_data(
        as_text=True))))
    assert sorted(r["id"] for r in rows) == ids
