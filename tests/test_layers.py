"""The stage order written in `kplate/__init__.py` holds: no module imports a later stage,
and there is no import cycle between stages.

Every `import` in the package counts, also those inside functions (a lazy import of a
later stage is still a dependency on it), except under `if TYPE_CHECKING:`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import kplate

PACKAGE = Path(kplate.__file__).parent
#: The foundation (below every stage), the stages in order, then the command line on top.
ORDER = [
    "errors",
    "extras",
    "limits",
    "spec",
    "numbers",
    "render",
    "augment",
    "io",
    "dataset",
    "gan",
    "pipeline",
    "evaluate",
    "cli",
]


def stage_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "kplate" or len(parts) < 2:
        return None
    return parts[1]


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, imported module) for every import in the file but type-checking ones."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {
        id(node)
        for guard in ast.walk(tree)
        if isinstance(guard, ast.If) and "TYPE_CHECKING" in ast.unparse(guard.test)
        for node in ast.walk(guard)
    }
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return found


def test_the_docstring_names_the_stages_in_this_order() -> None:
    chain = " -> ".join(ORDER[3:-1])
    assert chain in " ".join(kplate.__doc__.split())


def test_no_module_imports_a_later_stage() -> None:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        here = stage_of(".".join(relative.parts))
        if here is None or here.startswith("__"):
            continue  # kplate/__init__.py and __main__.py re-export or run the CLI
        assert here in ORDER, f"{path}: stage {here!r} is not in the stage order"
        for line, module in imports_of(path):
            there = stage_of(module)
            if there is not None and ORDER.index(there) > ORDER.index(here):
                wrong.append(f"{relative}:{line} ({here}) imports {module} ({there})")
    assert not wrong, "\n".join(wrong)
