"""Gatehouse: a governance-and-ethics gated model registry for public bodies.

The layers, each importing only those below it (enforced by import-linter, `make lint`):
app → cli → api, web, demo → usecases → jobs → serving → governance → analysis, records
→ platform. The application factory is `registry.app.create_app`.
"""
