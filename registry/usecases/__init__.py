"""What people do with Gatehouse, written once for the API, the web pages and the CLI.

Each use case runs in a `unit.Unit` (the session, policy, clock, store and the person acting),
which owns the transaction: it commits when the use case succeeds and rolls back when the
governance layer refuses, so a view only parses its input and presents the answer. The rules
themselves stay in `governance/`; a use case loads, applies a rule, and commits.
"""
