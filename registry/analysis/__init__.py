"""The analysis engines, one package per concept, each with a curated ``__init__`` (fairlearn's
shape): ``fairness`` (bias audits), ``drift`` (data drift), ``explain`` (scores and their
explanations), ``statements`` (their wording, light enough for the service to read receipts
without a model), ``pipelines`` (scikit-learn pipelines and their compiled fast path), ``models``
(artefacts loaded safely, versions made ready to serve) and ``tables`` (uploaded tables).

Other layers import a package's public names only; its ``_`` modules are private to it.
"""
