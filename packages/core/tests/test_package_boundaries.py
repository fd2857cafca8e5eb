"""Package boundaries, read from the source with ``ast``: task packages use core's public API only.

A task package (classify, regress, segment, explain) may import ``brainmri.core`` and itself,
never a sibling task package (DESIGN.md: dependencies point inward), and never a module or a
name of another package that starts with ``_`` (private: free to change without notice).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGES = Path(__file__).resolve().parents[2]
TASK_PACKAGES = sorted(p.name for p in PACKAGES.iterdir() if (p / "src" / "brainmri").is_dir() and p.name != "core")


def _imports(path: Path, src: Path):
    """``(line, imported module, imported names)`` of a source file under ``src``, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    module_parts = [*path.relative_to(src).with_suffix("").parts]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module_parts[: len(module_parts) - node.level]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            yield node.lineno, module, [alias.name for alias in node.names]


def _violations(package: str, root: Path = PACKAGES) -> list[str]:
    found = []
    src = root / package / "src"
    for path in sorted(src.rglob("*.py")):
        for line, module, names in _imports(path, src):
            parts = module.split(".")
            if parts[0] != "brainmri" or len(parts) < 2 or parts[1] == package:
                continue  # third-party, or the package itself
            where = f"{path.relative_to(root)}:{line}"
            if parts[1] != "core":
                found.append(f"{where}: imports sibling package {module}")
            private = [p for p in parts[2:] if p.startswith("_")] + [n for n in names if n.startswith("_")]
            if private:
                found.append(f"{where}: imports private {module} ({', '.join(private)})")
    return found


def test_the_walk_sees_task_packages_and_their_core_imports():
    assert {"classify", "regress", "segment", "explain"} <= set(TASK_PACKAGES)
    src = PACKAGES / "segment" / "src"
    imported = {m for p in src.rglob("*.py") for _, m, _ in _imports(p, src)}
    assert "brainmri.core.batch" in imported
    assert "brainmri.segment.evaluate" in imported  # "from .evaluate import ..." resolved


def test_the_walk_flags_private_and_sibling_imports(tmp_path):
    src = tmp_path / "demo" / "src" / "brainmri" / "demo"
    src.mkdir(parents=True)
    (src / "x.py").write_text(
        "from brainmri.core.cli._common import run_batch\nfrom brainmri.classify import task\nfrom ._version import v\n"
    )
    found = _violations("demo", tmp_path)
    assert len(found) == 2
    assert any("private brainmri.core.cli._common" in f for f in found)
    assert any("sibling package brainmri.classify" in f for f in found)


@pytest.mark.parametrize("package", TASK_PACKAGES)
def test_task_package_imports_only_public_core(package):
    assert _violations(package) == []
