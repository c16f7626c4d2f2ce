"""The job's log: its own progress at INFO, py4j's connection chatter left out."""

from __future__ import annotations

import subprocess
import sys

from spark_jobs.config import REPO_ROOT

SCRIPT = """
import logging
from spark_jobs.main import configure_logging
configure_logging()
logging.getLogger("spark_jobs").info("layer bronze done in 1.0s")
logging.getLogger("py4j.clientserver").info("Closing down clientserver connection")
logging.getLogger("py4j.clientserver").warning("Answer received: !xe")
"""


def test_job_progress_is_logged_and_py4j_info_is_not():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    assert "INFO spark_jobs: layer bronze done in 1.0s" in done.stderr
    assert "Closing down clientserver connection" not in done.stderr
    # Its warnings still come through.
    assert "WARNING py4j.clientserver: Answer received: !xe" in done.stderr
