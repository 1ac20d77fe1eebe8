"""Layering rules, read from the source (AST, function-local imports included):

* the library (``reelhouse/``) never imports the Spark applications (``spark_jobs``): they sit on
  top of it, and it must import without them (``pip install`` ships both, a notebook or the
  model registry needs only the library);
* no library module imports the interfaces ``reelhouse.cli`` / ``reelhouse.notebook``: they sit on
  top too (the CLI may import everything, nothing imports the CLI).

That the DAG files import nothing heavy at module level is checked by
``tests/dags/test_reelhouse_nightly.py::test_dag_file_is_thin``.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LIBRARY = REPO / "reelhouse"
INTERFACES = {"reelhouse.cli", "reelhouse.notebook"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` of every import in the file, at any depth (functions, ``if
    TYPE_CHECKING``, try blocks); relative imports resolved against the file's package;
    ``from a import b`` yields both ``a`` and ``a.b`` (b may be a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            out.append((node.lineno, base))
            out += [(node.lineno, f"{base}.{a.name}") for a in node.names if a.name != "*"]
    return out


def library_files() -> list[Path]:
    files = sorted(LIBRARY.rglob("*.py"))
    assert len(files) > 20, "the library was not found"
    return files


def violations(forbidden) -> list[str]:
    return [f"{p.relative_to(REPO)}:{line} imports {mod}"
            for p in library_files() for line, mod in imported_modules(p) if forbidden(p, mod)]


def test_library_never_imports_the_spark_jobs():
    assert violations(lambda p, mod: mod == "spark_jobs" or mod.startswith("spark_jobs.")) == []


def test_library_never_imports_the_interfaces():
    def forbidden(p: Path, mod: str) -> bool:
        if module_name(p) in INTERFACES:  # the interfaces themselves are on top
            return False
        return any(mod == i or mod.startswith(i + ".") for i in INTERFACES)

    assert violations(forbidden) == []


@pytest.mark.parametrize("source, expected", [
    ("def f():\n    from spark_jobs.gold_trends import x\n", {"spark_jobs.gold_trends", "spark_jobs.gold_trends.x"}),
    ("import spark_jobs.ingest as i\n", {"spark_jobs.ingest"}),
    ("from .. import cli\n", {"reelhouse", "reelhouse.cli"}),
    ("from ..notebook import tables\n", {"reelhouse.notebook", "reelhouse.notebook.tables"}),
    ("if True:\n    from spark_jobs import ingest\n", {"spark_jobs", "spark_jobs.ingest"}),
])
def test_the_walker_sees_every_kind_of_import(tmp_path, monkeypatch, source, expected):
    """The rules above are only as good as the walk: nested, aliased and relative imports count."""
    pkg = tmp_path / "reelhouse" / "ml"
    pkg.mkdir(parents=True)
    f = pkg / "mod.py"
    f.write_text(source)
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    assert {m for _, m in imported_modules(f)} == expected
