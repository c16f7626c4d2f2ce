"""Every test file is collected: pytest silently skips folders matching `norecursedirs` (by
default `build`, `dist`, `venv`, dot folders...), so a test placed in one would never run."""

from __future__ import annotations

import fnmatch
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_no_test_file_sits_in_a_folder_pytest_skips(pytestconfig):
    patterns = pytestconfig.getini("norecursedirs")
    hidden = [
        path.relative_to(TESTS).as_posix()
        for path in TESTS.rglob("test_*.py")
        if any(
            fnmatch.fnmatch(part, pattern)
            for part in path.relative_to(TESTS).parts[:-1]
            for pattern in patterns
        )
    ]
    assert hidden == [], f"never collected (norecursedirs {patterns}): {hidden}"


def test_the_check_sees_a_skipped_folder(pytestconfig):
    patterns = pytestconfig.getini("norecursedirs")
    assert any(fnmatch.fnmatch("build", p) for p in patterns)
