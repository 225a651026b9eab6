"""The scoring benchmark's outside baseline: Seldon MLServer serving alibi's TreeShap on the same
gradient-boosting model, in a virtual environment of its own.

It is optional, and skipped, saying why, when the environment is missing. Make it with

    python3.11 -m venv /tmp/alibi-venv
    /tmp/alibi-venv/bin/pip install mlserver==1.6.1 alibi==0.9.6 shap==0.43.0 numba==0.59.1 \
        tensorflow==2.14.1 pydantic==2.7.1 orjson "uvloop<0.22" "xgboost-cpu<3"
    /tmp/alibi-venv/bin/pip install --no-deps mlserver-alibi-explain==1.6.1 \
        mlserver-xgboost==1.6.1 mlserver-sklearn==1.6.1

(mlserver-alibi-explain asks for ``alibi[shap,tensorflow]`` unpinned, and pip's resolver then
backtracks through every alibi release and gives up — alibi 0.9.5 and older want pydantic 1,
MLServer 1.6 pins pydantic 2.7.1 — hence ``--no-deps`` for it and for the two runtimes its tree
explainers import; xgboost-cpu is xgboost without the CUDA libraries. mlserver 1.7 needs
protobuf 5, which alibi's TensorFlow extra refuses; mlserver 1.6's parallel workers need
uvloop<0.22.) Its numpy is 1.x, so nothing is
pickled across: the benchmark hands over the encoded training rows, background and request rows
as arrays, and the model is fitted again there with the same estimator and seed. As in the
comparison the issue describes, alibi's client one-hot-encodes each row itself (here, before
the clock starts), and MLServer answers with TreeShap's explanation of that row (2 parallel
workers, like Gatehouse's 2), with no gate, no receipt and no database.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.scoring_server import Load, free_port

unavailable = ""
_process: subprocess.Popen[bytes] | None = None

_SETUP = """
import sys, joblib, numpy as np
from sklearn.ensemble import GradientBoostingClassifier
from alibi.explainers import TreeShap
work = sys.argv[1]
d = np.load(work + "/alibi.npz")
model = GradientBoostingClassifier(n_estimators=50, max_depth=3, random_state=0)
model.fit(d["X"], d["y"])
joblib.dump(model, work + "/model.joblib")
explainer = TreeShap(model, model_output="probability", task="classification")
explainer.fit(d["background"])  # interventional, on the same 100 background rows
explainer.save(work + "/explainer")
"""


@dataclass
class Alibi:
    load: Load
    bodies: list[bytes]


def _arrays(rows: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """The encoded training rows and labels, background and request rows, from the pipeline the
    chain serves (its preprocessing is the client's encoding)."""
    import pandas as pd

    from tests import builders as b
    from tests.chain import FEATURES, fitted

    pipeline, _ = fitted("gbm")
    prep = pipeline.named_steps["prep"]

    def typed(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[FEATURES].astype({c: float for c in FEATURES if c in b.NUMERIC})

    training = b.training_frame()
    background = typed(b.evaluation_frame()).sample(100, random_state=0)
    return {"X": prep.transform(typed(training)), "y": (training["credit"] == "good").to_numpy(int),
            "background": prep.transform(background),
            "rows": prep.transform(typed(pd.DataFrame(rows)))}


def start(python: str, work: Path, rows: list[dict[str, Any]], workers: int = 2
          ) -> Alibi | None:
    """MLServer with alibi's TreeShap on the model, ready; None (and `unavailable` says why)
    when its environment is missing or it does not start."""
    global unavailable, _process
    if not Path(python).exists():
        unavailable = f"no {python}: make the environment as benchmarks/scoring_alibi.py says"
        return None
    folder = work / "alibi"
    folder.mkdir(parents=True, exist_ok=True)
    arrays = _arrays(rows)
    np.savez(folder / "alibi.npz", X=arrays["X"], y=arrays["y"], background=arrays["background"])
    setup = subprocess.run([python, "-c", _SETUP, str(folder)], capture_output=True, text=True,
                           timeout=600)
    if setup.returncode != 0:
        unavailable = f"its setup failed: {setup.stderr.strip().splitlines()[-1:]}"
        return None
    port = free_port()
    (folder / "settings.json").write_text(json.dumps({
        "http_port": port, "grpc_port": free_port(), "metrics_port": free_port(),
        "parallel_workers": workers, "debug": False}))
    (folder / "model-settings.json").write_text(json.dumps({
        "name": "treeshap", "implementation": "mlserver_alibi_explain.AlibiExplainRuntime",
        "parameters": {"uri": "./explainer",
                       "extra": {"explainer_type": "tree_shap",
                                 "infer_uri": str(folder / "model.joblib")}}}))
    mlserver = str(Path(python).parent / "mlserver")
    _process = subprocess.Popen([mlserver, "start", str(folder)], cwd=folder,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True,  # its workers stop with it
                                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    bodies = [json.dumps({"inputs": [{"name": "predict", "shape": [1, len(row)],
                                      "datatype": "FP64", "data": row.tolist()}]}).encode()
              for row in arrays["rows"]]
    load = Load(port, "/v2/models/treeshap/infer", {})
    deadline = time.monotonic() + 600  # TensorFlow loads in each worker: minutes on a busy host
    while time.monotonic() < deadline:
        try:
            load.first(bodies[0])
            return Alibi(load, bodies)
        except (OSError, RuntimeError):
            if _process.poll() is not None:
                break
            time.sleep(0.5)
    unavailable = "MLServer did not start"
    stop()
    return None


def pid() -> int | None:
    """MLServer's main process (its parallel workers are its children), while it runs."""
    return _process.pid if _process is not None else None


def stop() -> None:
    global _process
    if _process is not None:
        os.killpg(_process.pid, signal.SIGTERM)
        try:
            _process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(_process.pid, signal.SIGKILL)
            _process.wait(timeout=30)
        _process = None
