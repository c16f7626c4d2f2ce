"""Every test is collected: pytest silently skips folders matching `norecursedirs` (by default
`build`, `dist`, `venv`, dot folders...), and a test function defined twice in one module only
runs its second definition."""

from __future__ import annotations

import ast
import collections
import fnmatch
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_no_test_file_sits_in_a_folder_pytest_skips(pytestconfig):
    patterns = pytestconfig.getini("norecursedirs")
    hidden = [
        rel.as_posix()
        for rel in (path.relative_to(TESTS) for path in TESTS.rglob("test_*.py"))
        if any(fnmatch.fnmatch(part, pattern) for part in rel.parts[:-1] for pattern in patterns)
    ]
    assert hidden == [], f"never collected (norecursedirs {patterns}): {hidden}"


def test_the_check_sees_a_skipped_folder(pytestconfig):
    patterns = pytestconfig.getini("norecursedirs")
    assert any(fnmatch.fnmatch("build", p) for p in patterns)


def shadowed_tests(source: str) -> list[str]:
    """Test functions defined more than once in one module or class body."""
    bodies = [ast.parse(source).body]
    bodies += [node.body for node in bodies[0] if isinstance(node, ast.ClassDef)]
    out = []
    for body in bodies:
        names = collections.Counter(
            n.name
            for n in body
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name.startswith("test")
        )
        out += sorted(name for name, count in names.items() if count > 1)
    return out


def test_no_test_function_is_defined_twice():
    shadowed = {
        path.relative_to(TESTS).as_posix(): names
        for path in sorted(TESTS.rglob("test_*.py"))
        if (names := shadowed_tests(path.read_text()))
    }
    assert shadowed == {}


def test_shadowed_tests_finds_a_redefinition():
    source = (
        "def test_a(): pass\n"
        "def test_a(): pass\n"
        "class TestX:\n"
        "    def test_b(self): pass\n"
        "    def test_b(self): pass\n"
    )
    assert shadowed_tests(source) == ["test_a", "test_b"]
