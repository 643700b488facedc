"""The CI examples of docs/ci.md run as written on a two-commit repository: BASE from the target
branch, HEAD from the change, exit 1 on the regression and a Markdown summary for the comment."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "ci.md"
ALERTSIM = Path(sys.executable).parent / "alertsim"


def _commands() -> dict[str, str]:
    """The ``alertsim diff`` line of each example, keyed by the section it is in."""
    found = {}
    for section in re.split(r"^## ", DOC.read_text(), flags=re.M)[1:]:
        for line in section.splitlines():
            line = line.strip().removeprefix("- ")
            if line.startswith("alertsim diff"):
                found[section.splitlines()[0].strip()] = line
    return found


def _git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "ci", "GIT_AUTHOR_EMAIL": "ci@example.com",
           "GIT_COMMITTER_NAME": "ci", "GIT_COMMITTER_EMAIL": "ci@example.com"}
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """main: the sample rules; the change (checked out) tunes HighLatency; origin/main points at main."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path_factory.mktemp("rules-repo")
    (repo / "rules").mkdir()
    (repo / "history").mkdir()
    shutil.copy(ROOT / "data" / "rules" / "sample.yaml", repo / "rules" / "alerts.yaml")
    shutil.copy(ROOT / "data" / "alertmanager" / "sample.yml", repo / "alertmanager.yml")
    for name in ("metrics.parquet", "incidents.parquet"):
        shutil.copy(ROOT / "data" / "sample" / name, repo / "history" / name)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "alert rules")
    _git(repo, "update-ref", "refs/remotes/origin/main", "main")
    _git(repo, "checkout", "-q", "-b", "tune-latency")
    rules = repo / "rules" / "alerts.yaml"
    text = rules.read_text()
    start = text.index("name: HighLatency")
    rules.write_text(text[:start] + text[start:].replace("value: 0.5", "value: 0.8", 1))
    _git(repo, "commit", "-q", "-am", "HighLatency pages above 800 ms")
    return repo


def test_the_doc_has_both_examples():
    assert set(_commands()) == {"GitHub Actions", "GitLab CI"}


@pytest.mark.parametrize("section", ["GitHub Actions", "GitLab CI"])
def test_the_ci_example_runs_on_a_two_commit_repository(repo, section, tmp_path):
    command = _commands()[section].replace("${{ github.base_ref }}", "main")
    command = command.replace("alertsim ", f"{ALERTSIM} ", 1).replace("--out review", f"--out {tmp_path / 'review'}")
    env = {**os.environ, "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main", "COLUMNS": "120"}
    done = subprocess.run(["bash", "-c", command], cwd=repo, capture_output=True, text=True, env=env)
    assert done.returncode == 1, done.stdout + done.stderr  # the tuned rule misses incidents it caught
    summary = (tmp_path / "review" / "diff.md").read_text()
    assert "**Regression:** HighLatency: missed>0" in summary
    assert "| `HighLatency` | changed |" in summary
    assert (tmp_path / "review" / "base" / "pages.parquet").exists()
    assert (tmp_path / "review" / "head" / "quality.parquet").exists()


def test_an_unknown_revision_is_an_error(repo, tmp_path):
    done = subprocess.run([str(ALERTSIM), "diff", "nosuchbranch:rules/", "HEAD:rules/", "--metrics",
                           "history/metrics.parquet", "--out", str(tmp_path / "review")],
                          cwd=repo, capture_output=True, text=True)
    assert done.returncode == 2
    assert "nosuchbranch:rules" in done.stderr
