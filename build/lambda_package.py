"""Build the seeding Lambda's deployment package reproducibly: dist/lambda_seed.zip.

The zip holds the `lambda_seed` package and pymysql (pure Python, taken from the running
environment at the version pyproject.toml pins, with its licence); boto3 comes with the Lambda
runtime. Entries are sorted, timestamps and permissions fixed, and no bytecode is included, so
the same sources give the same bytes and Terraform's source_code_hash only changes with the code.

    python build/lambda_package.py [dist]
"""

from __future__ import annotations

import re
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ZIP_NAME = "lambda_seed.zip"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
VENDORED = ("pymysql",)  # distributions packaged with the handler
# dist-info files that describe the installation rather than the package.
_SKIP_META = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}


class PackageError(RuntimeError):
    pass


def pinned_version(dist: str) -> str:
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    for dep in deps:
        m = re.fullmatch(rf"(?i){re.escape(dist)}==([\w.]+)", dep.strip())
        if m:
            return m.group(1)
    raise PackageError(f"pyproject.toml pins no {dist}==<version> in [project] dependencies")


def vendored_files(dist_name: str) -> list[tuple[Path, str]]:
    """The installed files of a distribution: its .py modules and its metadata and licence."""
    try:
        dist = metadata.distribution(dist_name)
    except metadata.PackageNotFoundError:
        raise PackageError(f"{dist_name} is not installed in {sys.prefix}; run `make venv`") from None
    want = pinned_version(dist_name)
    if dist.version != want:
        raise PackageError(f"{dist_name} {dist.version} is installed but pyproject.toml pins {want}")
    files = []
    for rel in dist.files or ():
        parts = rel.parts
        if "__pycache__" in parts or rel.suffix == ".pyc":
            continue
        if parts[0].endswith(".dist-info"):
            if rel.name in _SKIP_META:
                continue
        elif rel.suffix != ".py":
            continue
        files.append((Path(rel.locate()), rel.as_posix()))
    if not any(name.endswith("/__init__.py") for _, name in files):
        raise PackageError(f"{dist_name}: no package modules found in its installation record")
    return files


def package_files() -> list[tuple[Path, str]]:
    own = [(p, p.relative_to(REPO).as_posix()) for p in (REPO / "lambda_seed").glob("*.py")]
    return own + [f for name in VENDORED for f in vendored_files(name)]


def write_zip(target: Path, files: list[tuple[Path, str]]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for src, name in sorted(files, key=lambda f: f[1]):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16  # readable by the Lambda runtime's user
            info.create_system = 3  # Unix, whatever the build machine
            zf.writestr(info, src.read_bytes())
    tmp.replace(target)


def main(dist: str = "dist") -> int:
    target = (REPO / dist) if not Path(dist).is_absolute() else Path(dist)
    try:
        write_zip(target / ZIP_NAME, package_files())
    except PackageError as exc:
        print(f"lambda-zip: error: {exc}", file=sys.stderr)
        return 1
    print(target / ZIP_NAME)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
