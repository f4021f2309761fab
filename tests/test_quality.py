"""The code stays ruff- and mypy-clean: CI runs only the test command, so the linters run as tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_check_is_clean() -> None:
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean_on_the_gateway() -> None:
    result = subprocess.run([sys.executable, "-m", "mypy", "gateway"], cwd=ROOT, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("module", ["gateway.cli", "gateway.reports.handlers", "gateway.reports.types",
                                    "gateway.commands.worker", "gateway.live", "gateway.screens"])
def test_each_entry_point_imports_on_its_own(module: str) -> None:
    # The test suite imports the app first; a command (callpulse worker) may import its own module first.
    result = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=ROOT, capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr[-2000:]
