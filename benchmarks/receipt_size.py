"""Bytes per receipt, measured from the receipts a benchmark stored (bench_batch, bench_scoring)."""

from __future__ import annotations

import json


def receipt_bytes(database_url: str) -> dict[str, float]:
    """Bytes per receipt from the rows stored: the row without and with its inputs, the table
    on disk, and the explanation compact against its full form as stored before."""
    from sqlalchemy import create_engine, text

    from registry.platform import sealing
    from registry.records import ScoreReceipt
    from registry.serving import compact

    engine = create_engine(database_url)
    columns = [c.name for c in ScoreReceipt.__table__.columns if c.name != "inputs"]
    with engine.connect() as connection:
        count = connection.scalar(text("SELECT count(*) FROM score_receipts"))
        if engine.dialect.name == "postgresql":
            row, inputs = connection.execute(text(
                "SELECT avg(pg_column_size(s.*) - coalesce(pg_column_size(inputs), 0)), "
                "avg(coalesce(pg_column_size(inputs), 0)) FROM score_receipts s")).one()
            disk = connection.scalar(text("SELECT pg_total_relation_size('score_receipts')"))
        else:
            total = " + ".join(f"coalesce(length(CAST({c} AS BLOB)), 0)" for c in columns)
            row, inputs = connection.execute(text(
                f"SELECT avg({total}), avg(coalesce(length(CAST(inputs AS BLOB)), 0)) "
                "FROM score_receipts")).one()
            disk = connection.scalar(text(
                "SELECT sum(pgsize) FROM dbstat WHERE name LIKE '%score_receipts%'"))
        stored = connection.execute(text(
            "SELECT explanation, inputs, score, model_version_id FROM score_receipts LIMIT 1"
        )).one()
        schema = connection.scalar(text("SELECT feature_schema FROM model_versions WHERE id = :v"),
                                   {"v": stored.model_version_id})
    engine.dispose()
    schema = json.loads(schema) if isinstance(schema, str) else schema
    sealed = json.loads(stored.explanation) if stored.explanation.startswith('"') \
        else stored.explanation
    opened = None if stored.inputs is None else sealing.open_json(
        json.loads(stored.inputs) if stored.inputs.startswith('"') else stored.inputs,
        "score_receipts.inputs")
    full = compact.expand(sealing.open_json(sealed, "score_receipts.explanation"), schema,
                          stored.score, opened)
    assert full is not None
    old = {k: full[k] for k in ("base_value", "contributions", "scale")}
    old_sealed = json.dumps(sealing.seal_json(old, "score_receipts.explanation"))
    return {"count": float(count or 0), "row": float(row), "inputs": float(inputs),
            "disk": float(disk or 0) / max(int(count or 1), 1),
            "explanation": float(len(stored.explanation)), "old_explanation": len(old_sealed)}
