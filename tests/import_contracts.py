"""A custom import-linter contract (registered in pyproject.toml): pages use only core's public names.

import-linter's own contracts see modules, not names, so a page importing ``core.x._helper`` or
``from core.x import _helper`` would pass them; this contract reads each importing module's source and
refuses any imported name or module path segment that starts with an underscore.
"""

from __future__ import annotations

import ast
import importlib.util

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output


def _private(dotted: str) -> bool:
    return any(part.startswith("_") and not part.startswith("__") for part in dotted.split("."))


def private_imports(source: str, target: str) -> list[tuple[int, str]]:
    """(line, what) for every import in ``source`` text of a private name or module under ``target``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and (node.module == target or node.module.startswith(target + ".")):
            if _private(node.module):
                found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names if _private(a.name)]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names
                      if (a.name == target or a.name.startswith(target + ".")) and _private(a.name)]
    return found


class PublicNamesOnlyContract(Contract):
    source_modules = fields.ListField(subfield=fields.ModuleField())
    public_package = fields.StringField()

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        broken = []
        for source in self.source_modules:
            for module in sorted(graph.find_descendants(source.name) | {source.name}):
                spec = importlib.util.find_spec(module)
                if spec is None or not spec.origin or not spec.origin.endswith(".py"):
                    continue
                with open(spec.origin, encoding="utf-8") as f:
                    for line, what in private_imports(f.read(), self.public_package):
                        broken.append(f"{module}:{line} imports {what}")
        return ContractCheck(kept=not broken, metadata={"broken": broken})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for entry in check.metadata["broken"]:
            output.print_error(entry)
