"""The README's first scoring example, pasted as is, gets a 200 from the demo's HMO finder."""

from __future__ import annotations

import json
import re
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from registry.demo import hmo, neighbour
from registry.demo.council import Demo
from registry.records import ApiClient

README = Path(__file__).resolve().parent.parent / "README.md"


def first_scoring_example() -> tuple[str, dict]:
    """The path and JSON body of the README's first curl command that asks for a score."""
    for command in re.findall(r"curl (.*?)(?:\n(?!\s)|$)", README.read_text(), re.S):
        if "/score" in command:
            body = re.search(r"-d '(.*?)'", command, re.S)
            url = re.search(r"http://127\.0\.0\.1:5000(/\S+)", command)
            assert body and url, command
            return url.group(1), json.loads(body.group(1))
    raise AssertionError("no scoring example in the README")


def test_the_readme_scoring_example_works_against_the_demo(app: Flask) -> None:
    services = app.extensions["gatehouse"]
    with services.sessions() as session:
        demo = Demo(session, services)
        demo.staff()
        hmo.load(demo)  # the demo's HMO finder, its chain approved, served to the inspections app
        neighbour.load(demo)  # Eastbrook, receiving one agreement from Northmere
        session.commit()
        # the demo's tools are Northmere's, however many councils the deployment serves
        assert set(session.scalars(select(ApiClient.organisation_id))) == {1}
    token = demo.tokens["housing-inspections-app"]
    path, body = first_scoring_example()
    client = app.test_client()
    response = client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["results"][0]["receipt_id"]
    schema = client.get("/api/v1/models/hmo-finder/schema",
                        headers={"Authorization": f"Bearer {token}"}).get_json()
    assert {f["name"] for f in schema["features"]} == set(body["features"])
    # Eastbrook's officer sees the shared agreement and nothing else of Northmere's
    erin = {"Authorization": f"Bearer {demo.tokens['erin.walsh']}"}
    listed = client.get("/api/v1/agreements", headers=erin).get_json()
    assert [a["reference"] for a in listed["items"]] == ["DSA-EB-01"]
    assert listed["items"][0]["provider_organisation_id"] == 1
    assert client.get("/api/v1/models/hmo-finder", headers=erin).status_code == 404
