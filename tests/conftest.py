import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_script(*args, timeout=900, env=None) -> subprocess.CompletedProcess:
    """Run one of the project's scripts as a user would, from the repository root."""
    return subprocess.run(
        [sys.executable, *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
    )


def assert_one_line_error(result: subprocess.CompletedProcess, message: str) -> None:
    """A CLI that fails fast: non-zero exit, and all of stderr is one line, `error: ...`, naming the problem."""
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr


@pytest.fixture(scope="session")
def smollm2():
    from engines.models import resolve_model

    return resolve_model("smollm2-135m")


@pytest.fixture(scope="session")
def qwen():
    from engines.models import resolve_model

    return resolve_model("qwen2.5-coder-0.5b")
