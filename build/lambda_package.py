"""Build the seeding Lambda's deployment package reproducibly: dist/lambda_seed.zip.

The zip holds the `lambda_seed` package and pymysql (pure Python, taken from the running
environment at the version pyproject.toml pins, with its licence); boto3 comes with the Lambda
runtime. Entries are sorted, timestamps and permissions fixed, and no bytecode is included, so
the same sources give the same bytes and Terraform's source_code_hash only changes with the code.

With `--ca-bundle FILE` (`make lambda-zip RDS_CA_BUNDLE=FILE`) the zip also holds that PEM file as
`rds-ca-bundle.pem`, at the package root: on AWS the handler verifies the RDS server's
certificate against it (Terraform sets DB_TLS_CA to that name). The deploy workflows fetch AWS's
global RDS bundle for it; the bundle is public, but it is not kept in the repository, because
AWS adds certificate authorities to it over time.

    python build/lambda_package.py [dist] [--ca-bundle FILE]
"""

from __future__ import annotations

import argparse
import re
import ssl
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ZIP_NAME = "lambda_seed.zip"
# The CA bundle's name inside the zip; DB_TLS_CA in terraform/modules/lambda names it.
CA_BUNDLE_NAME = "rds-ca-bundle.pem"
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


def checked_ca_bundle(path: Path) -> Path:
    """`path` if it is a PEM file of at least one certificate; PackageError naming it otherwise."""
    if not path.is_file():
        raise PackageError(f"CA bundle {path}: no such file")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        context.load_verify_locations(cafile=str(path))
    except (ssl.SSLError, ValueError, UnicodeDecodeError) as exc:
        raise PackageError(f"CA bundle {path}: holds no PEM certificate ({exc})") from None
    if not context.cert_store_stats()["x509"]:  # e.g. revocation lists only
        raise PackageError(f"CA bundle {path}: holds no PEM certificate")
    return path


def package_files(ca_bundle: Path | None = None) -> list[tuple[Path, str]]:
    own = [(p, p.relative_to(REPO).as_posix()) for p in (REPO / "lambda_seed").glob("*.py")]
    extra = [(checked_ca_bundle(ca_bundle), CA_BUNDLE_NAME)] if ca_bundle is not None else []
    return own + [f for name in VENDORED for f in vendored_files(name)] + extra


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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="lambda_package.py", description="Build the seeding Lambda's zip.")
    p.add_argument("dist", nargs="?", default="dist", help="output folder (default: dist)")
    p.add_argument(
        "--ca-bundle",
        type=Path,
        metavar="FILE",
        help=f"PEM certificates to ship as {CA_BUNDLE_NAME}, to verify the RDS server (the RDS CA bundle)",
    )
    args = p.parse_args(argv)
    target = (REPO / args.dist) if not Path(args.dist).is_absolute() else Path(args.dist)
    try:
        write_zip(target / ZIP_NAME, package_files(args.ca_bundle))
    except PackageError as exc:
        print(f"lambda-zip: error: {exc}", file=sys.stderr)
        return 1
    print(target / ZIP_NAME)
    return 0


if __name__ == "__main__":
    sys.exit(main())
