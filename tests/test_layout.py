"""The package's shape: sub-packages with one job each, import rules without circles, no file
over the size cap, and no module that changes matplotlib's backend when imported."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import import_rules

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "a2c_lab"
MAX_LINES = 350


def test_the_package_keeps_its_import_rules():
    assert import_rules.check(PACKAGE) == []


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "a2c_lab"


def test_the_rules_catch_a_circle_a_forbidden_import_and_torch_in_the_analysis(tmp_path):
    package = _write(tmp_path, {
        "a2c_lab/__init__.py": "",
        "a2c_lab/config.py": "",
        "a2c_lab/runs/__init__.py": '"""runs"""',
        "a2c_lab/runs/folder.py": "from a2c_lab.runs import tracking\n",
        "a2c_lab/runs/tracking.py": "from typing import TYPE_CHECKING\n"
                                     "if TYPE_CHECKING:\n    from a2c_lab.runs.folder import X\n",
        "a2c_lab/runs/status.py": "def f():\n    from a2c_lab.training import rollout\n",
        "a2c_lab/training/__init__.py": "",
        "a2c_lab/training/rollout.py": "import torch\nfrom a2c_lab.runs import status\n",
        "a2c_lab/analysis/__init__.py": "from .load import x\n",
        "a2c_lab/analysis/load.py": "from a2c_lab.runs.status import y\nimport a2c_lab.training.rollout\n",
    })
    problems = "\n".join(import_rules.check(package))
    # a type-only import still closes a circle
    assert "import circle between modules: a2c_lab.runs.folder -> a2c_lab.runs.tracking" in problems
    # runs -> training is forbidden (inside a function too), and closes a circle between parts
    assert "a2c_lab.runs.status:2 imports a2c_lab.training.rollout: 'runs' may import ['config']" in problems
    assert "import circle between parts: runs -> training" in problems
    assert "a2c_lab.analysis.load:2 imports a2c_lab.training.rollout: 'analysis' may import" in problems
    # torch reached from the analysis through a relative import and a module-level chain
    assert "a2c_lab.analysis reaches torch at import time (through a2c_lab.training.rollout)" in problems


def test_the_rules_pass_a_package_that_keeps_them(tmp_path):
    package = _write(tmp_path, {
        "a2c_lab/__init__.py": "",
        "a2c_lab/config.py": "import hydra\n",
        "a2c_lab/runs/__init__.py": "",
        "a2c_lab/runs/folder.py": "from a2c_lab.config import C\nfrom . import status\n",
        "a2c_lab/runs/status.py": "",
        "a2c_lab/analysis/__init__.py": "from a2c_lab.runs import folder\n",
    })
    assert import_rules.check(package) == []


def test_sub_packages_and_top_level_modules():
    subpackages = sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py"))
    top_level = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert {"analysis", "runs", "training", "sweeps"} <= set(subpackages)
    assert len(top_level) <= 6, top_level
    for name in subpackages:  # each says what it holds and which parts it may import
        doc = ast.get_docstring(ast.parse((PACKAGE / name / "__init__.py").read_text()))
        assert doc and "imports:" in doc.lower(), f"a2c_lab/{name}/__init__.py needs a docstring with its import rule"


def test_only_the_command_line_and_the_plugin_import_sweeps():
    outside = [*ROOT.joinpath("scripts").glob("*.py")]
    for path in outside:
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n.startswith("a2c_lab.sweeps") for n in names), f"{path.name} imports a2c_lab.sweeps"


@pytest.mark.parametrize("folder", ["a2c_lab", "scripts"])
def test_no_file_over_the_cap(folder):
    sizes = {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in ROOT.joinpath(folder).rglob("*.py")}
    assert {p: n for p, n in sizes.items() if n > MAX_LINES} == {}


def test_importing_every_module_leaves_matplotlib_as_it_was():
    """A notebook's backend and settings survive importing any module (no matplotlib.use, no pyplot)."""
    names = sorted(import_rules.modules(PACKAGE))
    code = (
        "import importlib, matplotlib\n"
        "matplotlib.use('svg')\n"
        "before = matplotlib.get_backend(), dict(matplotlib.rcParams)\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "after = matplotlib.get_backend(), dict(matplotlib.rcParams)\n"
        "assert after[0] == before[0] == 'svg', after[0]\n"
        "assert after[1] == before[1], {k for k in before[1] if before[1][k] != after[1][k]}\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={k: v for k, v in os.environ.items() if k != "MPLBACKEND"})
    assert done.returncode == 0, done.stderr
