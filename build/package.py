"""Build the EMR artifacts reproducibly: dist/spark_jobs.zip, dist/conf.zip and dist/main.py.

spark-submit gets `--py-files spark_jobs.zip`, `--archives conf.zip#conf` and `main.py`; the
same bytes come out of the same sources (sorted entries, fixed timestamps), so CI can tag the
upload with the commit and compare.
"""

from __future__ import annotations

import shutil
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def write_zip(target: Path, files: list[tuple[Path, str]]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for src, name in sorted(files, key=lambda f: f[1]):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, src.read_bytes())
    tmp.replace(target)


def main(dist: str = "dist") -> int:
    out = REPO / dist
    jobs = [(p, p.relative_to(REPO).as_posix()) for p in (REPO / "spark_jobs").rglob("*.py")]
    write_zip(out / "spark_jobs.zip", jobs)
    conf = REPO / "conf"
    write_zip(out / "conf.zip", [(p, p.relative_to(conf).as_posix()) for p in conf.rglob("*.yaml")])
    shutil.copyfile(REPO / "spark_jobs" / "main.py", out / "main.py")
    for name in ("spark_jobs.zip", "conf.zip", "main.py"):
        print(out / name)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
