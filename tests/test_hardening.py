"""What a client sends cannot cause a 5xx; headers and file modes keep what is private private."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import pytest
from flask import Flask

from registry.governance.inputs import NUL, small_int
from registry.web.transparency import spreadsheet_safe

from . import builders as b
from .chain import ok
from .conftest import Api
from .test_artefact_uploads import refused

DEEP = b"[" * 50_000 + b"]" * 50_000


@pytest.fixture
def model(api: Api) -> str:
    return ok(api.post("/api/v1/models", json=b.model("credit-risk")), 201)["name"]


def deep_object(key: str) -> bytes:
    return b'{"' + key.encode() + b'": ' + DEEP + b"}"


@pytest.mark.parametrize("url", ["/api/v1/agreements", "/api/v1/models", "/api/v1/datasets",
                                 "/api/v1/models/nope/score", "/api/v1/clients"])
def test_json_nested_50k_deep_is_refused_naming_the_body(api: Api, url: str) -> None:
    status, body = api.post(url, as_="olivia", data=deep_object("title"),
                            content_type="application/json")
    assert status == 422, body
    assert body["error"]["details"] == {"json": ["nested too deeply"]}


def test_an_inference_request_nested_deep_is_refused(api: Api) -> None:
    status, body = api.post("/v2/models/nope/infer", as_="olivia", data=deep_object("inputs"),
                            content_type="application/json")
    assert status == 422 and "nested too deeply" in str(body), body


def test_version_metadata_nested_deep_is_refused(api: Api, model: str) -> None:
    status, body = api.post(f"/api/v1/models/{model}/versions", data={
        "artefact": (io.BytesIO(b"PK"), "model.skops"), "metadata": DEEP.decode()},
        content_type="multipart/form-data")
    assert status == 422 and body["error"]["details"] == {"metadata": ["nested too deeply"]}


def test_a_skops_file_whose_schema_is_nested_deep_is_refused(app: Flask, api: Api,
                                                             model: str) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("schema.json", b'{"protocol": 2, "__class__": ' + DEEP + b"}")
    details = refused(app, api, model, buffer.getvalue())
    assert "nested too deeply" in str(details["artefact"])


@pytest.mark.parametrize("text,expected", [
    ("12", 12), (" 7 ", 7), ("²", None), ("1e23", None), ("-1", None), ("", None),
    ("9223372036854775807", None), ("9" * 5000, None), ("1000000000", 1_000_000_000),
])
def test_small_whole_numbers(text: str, expected: int | None) -> None:
    assert small_int(text) == expected


@pytest.mark.parametrize("query", ["window=²d", "window=9999999999999999999999d",
                                   "windows=²"])
def test_outcome_windows_written_oddly_are_refused(api: Api, query: str) -> None:
    status, body = api.get(f"/api/v1/models/x/versions/1/outcomes?{query}")
    assert status in (404, 422), body  # the window is checked, or the version is unknown
    assert status != 500


@pytest.mark.parametrize("query", ["owner=99999999999999999999", "organisation=1e20",
                                   "owner=-99999999999999999999", "owner=²"])
def test_a_listing_filtered_by_an_id_no_record_can_have_is_refused_naming_it(api: Api,
                                                                             query: str) -> None:
    status, body = api.get(f"/api/v1/models?{query}")
    assert status == 422 and query.split("=")[0] in body["error"]["details"], body


def test_a_page_number_past_any_listing_is_refused(api: Api) -> None:
    status, body = api.get("/api/v1/agreements?page=9223372036854775807")
    assert status == 422 and "page" in body["error"]["details"], body
    assert api.get("/api/v1/agreements?page=1e23")[0] == 422


def test_web_listings_take_odd_page_numbers_and_owners(app: Flask, api: Api) -> None:
    from .web.conftest import Browser

    browser = Browser(app.test_client()).sign_in("olivia")
    for query in ("page=9223372036854775807", "page=1e23", "page=²", "owner=²",
                  "owner=99999999999999999999"):
        assert browser.get(f"/agreements?{query}").status_code == 200, query


def test_every_answer_says_nosniff_and_private_answers_are_not_stored(app: Flask,
                                                                      api: Api) -> None:
    signed_in = app.test_client().get("/api/v1/agreements",
                                      headers={"Authorization": f"Bearer {api.tokens['olivia']}"})
    assert signed_in.headers["X-Content-Type-Options"] == "nosniff"
    assert signed_in.headers["Cache-Control"] == "no-store"
    public = app.test_client().get("/transparency.json")
    assert public.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" not in public.headers.get("Cache-Control", "")
    assert "Strict-Transport-Security" not in public.headers  # plain http: it would be ignored
    secure = app.test_client().get("/transparency.json", base_url="https://gatehouse.example")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


def test_signed_in_pages_are_not_stored(app: Flask, api: Api) -> None:
    from .web.conftest import Browser

    page = Browser(app.test_client()).sign_in("olivia").get("/dashboard")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"


def test_the_instance_folder_database_and_files_are_the_services_alone(app: Flask,
                                                                        api: Api) -> None:
    instance = Path(app.instance_path)
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    assert stat.S_IMODE((instance / "secret_key").stat().st_mode) == 0o600 or \
        app.config["SECRET_KEY"] == "test"
    data = Path(app.config["DATA_DIR"])
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    url = app.config["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        assert stat.S_IMODE(Path(url.removeprefix("sqlite:///")).stat().st_mode) == 0o600


def test_a_fresh_secret_key_file_is_never_world_readable(tmp_path: Path) -> None:
    from registry.platform.config import from_environment

    secret = from_environment(str(tmp_path / "inst"))["SECRET_KEY"]
    path = tmp_path / "inst" / "secret_key"
    assert len(secret) == 64 and path.read_text() == secret
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "inst").stat().st_mode) == 0o700


@pytest.mark.parametrize("cell", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)",
                                  "\tcmd", "\rcmd"])
def test_a_csv_cell_that_would_run_as_a_formula_is_neutralised(cell: str) -> None:
    assert spreadsheet_safe(cell) == "'" + cell
    assert spreadsheet_safe("Hardship loan") == "Hardship loan"
    assert spreadsheet_safe(-0.5) == -0.5  # numbers are numbers


def test_a_nul_character_is_refused_naming_the_field(app: Flask, api: Api) -> None:
    status, body = api.post("/api/v1/agreements", as_="sam",
                            data=b'{"title": "Data\\u0000sharing"}',
                            content_type="application/json")
    assert status == 422 and body["error"]["details"] == {"json": [NUL]}, body
    status, body = api.get("/api/v1/agreements?state=app%00roved")
    assert status == 422 and body["error"]["details"] == {"state": [NUL]}, body

    from .web.conftest import Browser

    browser = Browser(app.test_client()).sign_in("olivia")
    page = browser.get("/agreements?state=%00")
    assert page.status_code == 422 and "NUL" in page.get_data(as_text=True)
    form = browser.post("/sign-out", {"next\x00": "x"})
    assert form.status_code == 422


def test_the_openapi_document_describes_the_errors_actually_sent(app: Flask, api: Api) -> None:
    spec = app.test_client().get("/api/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    assert set(schemas["Error"]["properties"]) == {"error"}
    assert set(schemas["ErrorBody"]["properties"]) == {"code", "message", "details"}
    default = spec["components"]["responses"]["DEFAULT_ERROR"]["content"]["application/json"]
    assert default["schema"] == {"$ref": "#/components/schemas/Error"}
    status, body = api.post("/api/v1/agreements", as_="sam", json={"title": 3})
    assert status == 422 and set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    # /v2 answers the protocol's flat form, and says so
    assert set(schemas["ProtocolError"]["properties"]) == {"error", "code", "details"}
    infer = spec["paths"]["/v2/models/{name}/infer"]["post"]["responses"]
    flat = {"$ref": "#/components/schemas/ProtocolError"}
    assert infer["default"]["content"]["application/json"]["schema"] == flat
    assert infer["429"]["content"]["application/json"]["schema"] == flat
    score = spec["paths"]["/api/v1/models/{name}/score"]["post"]["responses"]
    assert score["default"] == {"$ref": "#/components/responses/DEFAULT_ERROR"}


def test_a_small_upload_that_expands_hugely_is_refused_before_it_is_read(
        app: Flask, api: Api, model: str) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("schema.json", b'{"protocol": 2, "__class__": "x"}')
        archive.writestr("weights.npy", b"\0" * (300 << 20))  # 300 MB of zeros
    data = buffer.getvalue()
    assert len(data) < 1 << 20  # under a megabyte as sent
    details = refused(app, api, model, data)
    assert "too large once uncompressed" in str(details["artefact"])


def test_numbers_the_database_cannot_hold_are_refused_naming_the_field(api: Api) -> None:
    """An id or a count beyond PostgreSQL's 32-bit integer (or below 1), in a path, a query or
    a body: a 404 or a 422 naming the field, never an overflow in the driver."""
    for too_big in (2**31, 2**70):
        status, _ = api.get(f"/api/v1/agreements/{too_big}")
        assert status == 404
        status, body = api.post("/api/v1/datasets", json={"agreement_ids": [too_big]})
        assert status == 422 and body["error"]["details"]["agreement_ids"] == {
            "0": ["no record has this id"]}, body
    for owner in (2**31, -304250263527210):
        status, body = api.get(f"/api/v1/agreements?owner={owner}")
        assert status == 422 and "owner" in body["error"]["details"], body
    for url, body in (("/api/v1/clients", {"name": "x", "models": [], "purposes": [],
                                           "organisation_id": -(10**30)}),
                      ("/api/v1/users", {"email": "kim@x.gov.uk", "roles": ["dpo"],
                                         "organisation_id": 10**30})):
        status, answer = api.post(url, as_="ada", json=body)
        assert status == 422 and "organisation_id" in answer["error"]["details"], answer
    status, body = api.post("/api/v1/models", json={"people_scored_per_year": 2**40})
    assert status == 422 and "people_scored_per_year" in body["error"]["details"], body


@pytest.mark.parametrize("year", ["9" * 20, "99999999999", "²"])
def test_a_date_beyond_any_calendar_is_refused_as_a_problem_of_the_field(year: str) -> None:
    from registry.web.forms import date_field

    form = {"approved_until-day": "1", "approved_until-month": "1", "approved_until-year": year}
    assert date_field(form, "approved_until") == (
        None, "The date must be a real date, for example 27 3 2027")


@pytest.mark.parametrize("version", ["99999999999999999999", "1e23", "²", "-1"])
def test_an_inference_version_written_oddly_is_refused_naming_it(api: Api, model: str,
                                                                 version: str) -> None:
    status, body = api.get(f"/v2/models/{model}/versions/{version}/ready", as_="olivia")
    assert status == 422 and body["details"] == {"version": ["must be a whole number"]}, body
    status, body = api.post(f"/v2/models/{model}/infer", as_="olivia", json={
        "parameters": {"purpose": "credit_risk_research", "version": 10**30},
        "inputs": [{"name": "age", "datatype": "INT64", "shape": [1], "data": [30]}]})
    assert status == 422 and body["details"] == {"version": ["must be a whole number"]}, body


def test_a_web_form_field_beyond_reason_is_refused_413_naming_it(app: Flask, api: Api) -> None:
    from .web.conftest import Browser

    browser = Browser(app.test_client()).sign_in("olivia")
    answer = browser.post("/sign-out", {"note": "x" * (2 << 20)})
    assert answer.status_code == 413 and "note: at most" in answer.get_data(as_text=True).lower()
