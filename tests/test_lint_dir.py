"""``alertsim lint DIR`` lints every rule file of a directory; a file it cannot use is a finding and
the others are still linted."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from alertsim.cli import app

GOOD = ("rules:\n- {name: CPU, kind: threshold, metric: cpu, value: 80, for: 5m, severity: page,\n"
        "   annotations: {runbook: 'https://runbooks.example/cpu'}}\n")
NO_RUNBOOK = "rules:\n- {name: Queue, kind: threshold, metric: queue_depth, value: 500, for: 5m, severity: ticket}\n"
UNSUPPORTED = "rules:\n- {name: Odd, kind: crystal_ball, metric: cpu}\n"


def test_lint_of_a_directory_lints_every_rule_file_and_goes_on_past_a_bad_one(tmp_path):
    (tmp_path / "team-a").mkdir()
    (tmp_path / "cpu.yaml").write_text(GOOD)
    (tmp_path / "team-a" / "queue.yml").write_text(NO_RUNBOOK)
    (tmp_path / "team-a" / "odd.yaml").write_text(UNSUPPORTED)
    (tmp_path / "README.md").write_text("not a rule file")
    result = CliRunner().invoke(app, ["lint", str(tmp_path), "--json"])
    report = json.loads(result.output)
    found = {(f["file"].removeprefix(str(tmp_path) + "/"), f["check"]) for f in report["findings"]}
    assert ("team-a/odd.yaml", "invalid") in found
    assert ("team-a/queue.yml", "no-runbook") in found
    assert not any(file == "cpu.yaml" for file, _ in found)
    assert result.exit_code == 1  # the unusable file is an error


def test_lint_of_an_empty_directory_says_so(tmp_path):
    result = CliRunner().invoke(app, ["lint", str(tmp_path)])
    assert result.exit_code == 2
    assert "holds no rule file" in result.output
