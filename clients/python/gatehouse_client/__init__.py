"""A Python client for Gatehouse's JSON API, for data scientists and frontline tools.

With an agreement and a training dataset registered, a fitted pipeline goes to "submitted,
with audit and monitor configured" in a few lines::

    from gatehouse_client import Gatehouse

    gh = Gatehouse("https://gatehouse.example.gov.uk", token)
    held_out = gh.register_dataset("credit-held-out", "German credit, held out", "personal",
                                   "credit_risk_research", frame=test_df, agreements=[dsa])
    gh.register_model("credit-risk", "Credit risk score", "credit_risk_research",
                      "individual_case_work")
    print(gh.publish("credit-risk", pipeline, training=data, evaluation=held_out,
                     label_column="credit", positive_label="good"))

and, for a frontline tool holding an API client's token::

    Gatehouse(url, client_token).score("credit-risk", "credit_risk_research", {...})

Standard library only; the ``[skops]`` extra saves a pipeline, ``[pandas]`` sends data frames.
"""

from .errors import Gate, GatehouseError
from .frames import infer_columns
from .gatehouse import Gatehouse, Published

__all__ = ["Gate", "Gatehouse", "GatehouseError", "Published", "infer_columns"]
