"""Import-linter contracts of our own.

``no_parent_imports``: no module imports a package it belongs to. A package's ``__init__`` that
gathers its modules, imported back by one of them, is an import circle import-linter's sibling
contracts do not see (the parent is not a sibling).

``no_private_imports``: a module named ``_something`` is private to its package, whose curated
``__init__`` is what everyone else imports (fairlearn's shape). import-linter's ``forbidden``
contract would have to list every private module, and miss the next one.
"""

from __future__ import annotations

import grimp
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


class NoParentImportsContract(Contract):
    type_name = "no_parent_imports"

    root = fields.StringField()

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        broken = sorted(
            (module, imported)
            for module in graph.modules
            if module.startswith(f"{self.root}.")
            for imported in graph.find_modules_directly_imported_by(module)
            if module.startswith(f"{imported}.")
        )
        return ContractCheck(kept=not broken, metadata={"broken": broken})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for module, parent in check.metadata["broken"]:
            output.print_error(f"{module} imports its own package {parent}", bold=False)
            output.new_line()


def _private_owner(module: str) -> str | None:
    """The package ``module`` is private to: the parent of its first ``_`` (not dunder) part."""
    parts = module.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[:i])
    return None


class NoPrivateImportsContract(Contract):
    type_name = "no_private_imports"

    containers = fields.ListField(subfield=fields.StringField())

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        broken = []
        for module in sorted(graph.modules):
            if not any(module.startswith(f"{c}.") for c in self.containers):
                continue
            owner = _private_owner(module)
            if owner is None:
                continue
            for importer in sorted(graph.find_modules_that_directly_import(module)):
                if importer != owner and not importer.startswith(f"{owner}."):
                    lines = [d["line_number"]
                             for d in graph.get_import_details(importer=importer, imported=module)]
                    broken.append((importer, module, owner, lines))
        return ContractCheck(kept=not broken, metadata={"broken": broken})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for importer, module, owner, lines in check.metadata["broken"]:
            where = ", ".join(f"l.{n}" for n in lines)
            output.print_error(f"{importer} imports {module} ({where}), private to {owner}: "
                               f"import from {owner}", bold=False)
            output.new_line()
