"""Imports flow one way: index → qa → eval → ui (checked by parsing every module's imports)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAYERS = ("index", "qa", "eval", "ui")
# Packages a layer may import from this project: itself and the layers before it.
ALLOWED = {layer: set(LAYERS[: n + 1]) for n, layer in enumerate(LAYERS)}


def project_imports(path: Path) -> list[tuple[int, str]]:
    """(line, top-level project package) of every import in a module, including function-level ones."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            names = [path.parent.name]  # relative imports stay inside the package
        else:
            continue
        found += [(node.lineno, name.split(".")[0]) for name in names if name.split(".")[0] in LAYERS]
    return found


def modules() -> list[Path]:
    return sorted(p for layer in LAYERS for p in (REPO / layer).rglob("*.py"))


def test_every_layer_has_modules() -> None:
    for layer in ("index", "qa", "ui"):
        assert list((REPO / layer).glob("*.py")), f"{layer}/ has no modules"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_imports_flow_one_way(path: Path) -> None:
    layer = path.relative_to(REPO).parts[0]
    bad = [f"line {line}: imports {package}" for line, package in project_imports(path) if package not in ALLOWED[layer]]
    assert not bad, f"{path.relative_to(REPO)} ({layer}/) may only import {sorted(ALLOWED[layer])}: {bad}"


def test_checker_sees_function_level_and_from_imports(tmp_path: Path) -> None:
    module = tmp_path / "qa" / "m.py"
    module.parent.mkdir()
    module.write_text("import os\nfrom index.models import Article\n\ndef f():\n    from ui.cli import main\n    import eval.x\n")
    assert sorted(project_imports(module)) == [(2, "index"), (5, "ui"), (6, "eval")]


def test_ui_holds_no_retrieval_logic() -> None:
    """The faces build objects through the library; they do not rank passages themselves."""
    for path in (REPO / "ui").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not imported & {"faiss", "bm25s", "Stemmer"}, f"{path.relative_to(REPO)} imports search internals"


def test_the_local_engine_never_imports_ray(tmp_path: Path) -> None:
    """Ray is an optional extra: the CLI, the wiring and a local ingest run without importing it."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "import ui.cli, ui.wiring, index.ray_ingest\n"
        "from index.embedding import HashEmbedder\n"
        "from index.indexer import IndexConfig, NewsIndex\n"
        "from index.models import Article\n"
        f"index = NewsIndex.open({str(tmp_path / 'ix')!r}, HashEmbedder(64), "
        "config=IndexConfig(model=HashEmbedder(64).name, dim=64, max_tokens=40))\n"
        "index.add([Article('a', 'A headline', 'One sentence here. Another one there.')], show_progress=False)\n"
        "assert not [m for m in sys.modules if m == 'ray' or m.startswith('ray.')], 'ray was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
