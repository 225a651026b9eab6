"""An import-linter contract of our own: no module imports a package it belongs to.

A package's ``__init__`` that gathers its modules, imported back by one of them, is an import
circle import-linter's sibling contracts do not see (the parent is not a sibling).
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
