"""Run by a fresh virtual environment holding only gatehouse-client (no pandas, no skops): the
whole chain registered, approved, published and scored over HTTP. argv[1]: a JSON file with
the server's URL, people's tokens, the records' fields, CSV paths and a skops file's path."""

import importlib.util
import json
import sys
from pathlib import Path

from gatehouse_client import Gatehouse, GatehouseError


def main(config: dict) -> dict:
    assert importlib.util.find_spec("pandas") is None, "the environment holds more than the client"
    url, tokens = config["url"], config["tokens"]
    sam, olivia, dee = (Gatehouse(url, tokens[p]) for p in ("sam", "olivia", "dee"))
    dsa = sam.register_agreement(**config["agreement"])
    sam.submit("agreement", dsa)
    olivia.decide("agreement", dsa, "approve", "Checked")
    data, held_out = (
        sam.register_dataset(name, "German credit applicants", "personal", config["purpose"],
                             columns=config["columns"], label_column="credit",
                             data=Path(path).read_bytes(), agreements=[dsa])
        for name, path in (("credit-data", config["training"]),
                           ("credit-held-out", config["evaluation"])))
    sam.register_model(**config["model"])
    try:
        sam.register_dpia("DPIA-X", "Credit risk", model_names=["no-such-model"])
    except GatehouseError as refused:
        refusal = str(refused)
    dpia = sam.register_dpia(**config["dpia"], dataset_ids=[data, held_out],
                             model_names=[config["model"]["name"]])
    dee.dpo_advice(dpia, "Proceed; audit quarterly.")
    olivia.respond_to_advice(dpia, True, "Agreed.")
    for kind, record in (("dpia", dpia), ("dataset", data), ("dataset", held_out),
                         ("model", config["model"]["name"])):
        sam.submit(kind, record)
        olivia.decide(kind, record, "approve", "Checked")
    published = sam.publish(config["model"]["name"], artefact=Path(config["artefact"]).read_bytes(),
                            training=data, evaluation=held_out, label_column="credit",
                            positive_label="good", stage="production", monitor_action="suspend")
    key = (config["model"]["name"], published.version["number"])
    olivia.decide("version", key, "approve", "Checked")
    token = Gatehouse(url, tokens["ada"]).create_client(
        "caseworker-app", [config["model"]["name"]], [config["purpose"]])["token"]
    with Gatehouse(url, token) as tool:
        schema = tool.input_schema(config["model"]["name"])
        scored = tool.score(config["model"]["name"], config["purpose"], config["case"])
    return {"refusal": refusal, "published": str(published), "state": published.version["state"],
            "schema": schema, "scored": scored}


if __name__ == "__main__":
    print(json.dumps(main(json.loads(Path(sys.argv[1]).read_text()))))
