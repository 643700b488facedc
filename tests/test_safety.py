"""Safety: what a new user's ordinary mistakes, faults and hostile names do to every command.

Each case is a row: a command line (or an API call), the outcome class it must have — ``error`` (a
clear message with the expected words, exit 2, no traceback), ``ok`` (a correct result) or ``warn``
(a correct result plus a warning) — and every case checks that what was on disk before is still
there afterwards (a user's notes, an earlier run, a store).
"""

from __future__ import annotations

import errno
import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import alertsim as al
from alertsim.cli import app
from alertsim.errors import AlertsimError, ArgumentError, ConfigError, InputError, StrictError
from alertsim.io import rundir
from alertsim.io.ingest import STORE_MANIFEST, ingest, read_store_manifest
from alertsim.scale import replay_dataset

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()
T0 = datetime(2026, 3, 2, tzinfo=UTC)


# --------------------------------------------------------------------------------------------- data

def _metrics(minutes: int = 240) -> pl.DataFrame:
    rows = []
    for service, instance in (("checkout", "a"), ("checkout", "b"), ("payments", "c")):
        for m in range(minutes):
            value = 95.0 if 60 <= m < 80 and instance == "a" else 20.0
            rows.append((T0 + timedelta(minutes=m), "cpu", value, service, instance))
    return pl.DataFrame(rows, schema={"timestamp": pl.Datetime("us", "UTC"), "metric": pl.String,
                                      "value": pl.Float64, "service": pl.String, "instance": pl.String},
                        orient="row")


RULES = """rules:
  - name: HighCPU
    kind: threshold
    metric: cpu
    op: ">"
    value: 80
    for: 3m
    severity: page
    labels: {team: storefront}
"""

INCIDENTS = """incident_id,service,started_at,resolved_at,severity,title
INC-1,checkout,2026-03-02T01:00:00Z,2026-03-02T01:30:00Z,sev2,checkout cpu
"""


@dataclass
class World:
    root: Path
    metrics: Path
    rules: Path
    incidents: Path
    notes: Path
    run: Path

    def snapshot(self) -> dict[str, bytes]:
        """Every file the user had before the case ran (their notes and the earlier run)."""
        found = {}
        for base in (self.notes, self.run):
            for p in sorted(base.rglob("*")):
                if p.is_file():
                    found[str(p)] = p.read_bytes()
        return found


@pytest.fixture()
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.chdir(tmp_path)
    metrics = tmp_path / "m.parquet"
    _metrics().write_parquet(metrics)
    rules = tmp_path / "r.yaml"
    rules.write_text(RULES)
    incidents = tmp_path / "incidents.csv"
    incidents.write_text(INCIDENTS)
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("buy milk")
    (notes / "index.html").write_text("<p>my own page</p>")
    (notes / "figures").mkdir()
    (notes / "figures" / "plot.png").write_bytes(b"png")
    run = tmp_path / "run"
    result = runner.invoke(app, ["replay", str(metrics), "--rules", str(rules), "--out", str(run)])
    assert result.exit_code == 0, result.output
    return World(tmp_path, metrics, rules, incidents, notes, run)


def _invoke(args: list[str]) -> tuple[int, str]:
    result = runner.invoke(app, args)
    text = result.output + (result.stderr if result.stderr_bytes is not None else "")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"traceback from {args}: {result.exception!r}") from result.exception
    return result.exit_code, text


# ------------------------------------------------------------------------------- outputs never destroy

#: Every command that writes a directory, as a function of the world and the --out to use.
WRITERS = {
    "replay": lambda w, out: ["replay", str(w.metrics), "--rules", str(w.rules), "--out", out],
    "tune": lambda w, out: ["tune", str(w.metrics), "--rules", str(w.rules), "--incidents", str(w.incidents),
                            "--out", out],
    "fatigue": lambda w, out: ["fatigue", str(REPO / "data/sample/incidents.csv"), "--from-incidents",
                               "--out", out],
    "simulate": lambda w, out: ["simulate", "--pages", str(REPO / "data/sample/pages.parquet"), "--design",
                                str(REPO / "data/designs/weekly.yaml"), "--replicates", "5", "--out", out],
    "report": lambda w, out: ["report", str(w.run), "--out", out],
    "demo": lambda w, out: ["demo", "--out", out, "--replicates", "5"],
}

#: Output locations that belong to the user, with the words the refusal must contain.
HOSTILE_OUTS = {
    "a directory of notes": (lambda w: str(w.notes), "did not write"),
    "an existing file": (lambda w: str(w.notes / "todo.txt"), "not a directory"),
    "the current directory": (lambda w: ".", "current directory"),
    "a parent that is a file": (lambda w: str(w.notes / "todo.txt" / "run"), "is a file"),
    "the parent of the cwd": (lambda w: "..", "current directory"),
}


@pytest.mark.parametrize("where", sorted(HOSTILE_OUTS))
@pytest.mark.parametrize("command", sorted(WRITERS))
def test_an_output_alertsim_did_not_write_is_refused_and_left_as_it_was(world: World, command: str,
                                                                         where: str) -> None:
    out_of, words = HOSTILE_OUTS[where]
    before = world.snapshot()
    code, text = _invoke(WRITERS[command](world, out_of(world)))
    assert code == 2, text
    assert words in text
    assert world.snapshot() == before


@pytest.mark.parametrize("command", ["replay", "tune", "fatigue", "simulate"])
def test_a_run_is_replaced_by_a_new_run(world: World, command: str) -> None:
    out = str(world.root / f"again-{command}")
    for _ in range(2):
        code, text = _invoke(WRITERS[command](world, out))
        assert code == 0, text
    assert rundir.is_run(out)


def test_an_empty_directory_is_a_fine_output(world: World) -> None:
    (world.root / "empty").mkdir()
    code, text = _invoke(WRITERS["replay"](world, str(world.root / "empty")))
    assert code == 0, text


def test_a_report_replaces_its_own_report_but_not_a_page_of_the_users(world: World) -> None:
    out = world.root / "weekly"
    assert _invoke(["report", str(world.run), "--out", str(out)])[0] == 0
    assert _invoke(["report", str(world.run), "--out", str(out)])[0] == 0
    assert (out / "index.html").read_text().startswith("<!")
    assert (world.notes / "index.html").read_text() == "<p>my own page</p>"


def test_a_kill_between_the_two_renames_leaves_the_old_run_restorable(world: World) -> None:
    old = rundir.read_frame(world.run, "alerts")
    backup = world.run.with_name(f".{world.run.name}.old")
    world.run.rename(backup)  # as if killed after the first rename
    stale = world.root / f".{world.run.name}.alertsim-tmp-abc"
    stale.mkdir()
    (stale / "alerts.parquet").write_bytes(b"half")
    done = rundir.recover(world.run)
    assert any("restored" in d for d in done)
    assert rundir.read_frame(world.run, "alerts").equals(old)
    assert not stale.exists() and not backup.exists()


def test_the_next_run_cleans_up_after_a_killed_one(world: World) -> None:
    stale = world.root / f".{world.run.name}.alertsim-tmp-zzz"
    stale.mkdir()
    (stale / "big.parquet").write_bytes(b"x" * 1000)
    assert _invoke(WRITERS["replay"](world, str(world.run)))[0] == 0
    assert not stale.exists()


# ---------------------------------------------------------------------------------------- OS faults

def _fail_with(code: int):  # type: ignore[no-untyped-def]
    def write(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError(code, os.strerror(code))
    return write


@pytest.mark.parametrize(("code", "words"), [(errno.ENOSPC, "disk is full"), (errno.EROFS, "read-only"),
                                             (errno.EACCES, "permission denied"), (errno.EIO, "error")])
@pytest.mark.parametrize("command", ["replay", "tune", "fatigue", "simulate"])
def test_a_failing_disk_is_a_clear_error_and_the_old_run_survives(world: World, monkeypatch: pytest.MonkeyPatch,
                                                                   command: str, code: int, words: str) -> None:
    out = world.root / f"out-{command}"
    assert _invoke(WRITERS[command](world, str(out)))[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    monkeypatch.setattr(pl.DataFrame, "write_parquet", _fail_with(code))
    status, text = _invoke(WRITERS[command](world, str(out)))
    assert status == 2, text
    assert words in text.lower()
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not list(world.root.glob(f".{out.name}.*"))


@pytest.mark.parametrize("frame", ["alerts", "pages"])
@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_a_damaged_run_frame_is_named_in_the_error(world: World, frame: str, damage: str) -> None:
    path = world.run / f"{frame}.parquet"
    data = path.read_bytes() if path.exists() else rundir.read_frame(world.run, "alerts").write_parquet(
        path) or path.read_bytes()
    path.write_bytes({"truncated": data[: len(data) // 2], "garbage": b"not parquet at all", "empty": b""}[damage])
    with pytest.raises(InputError, match=f"{frame}.parquet"):
        rundir.read_frame(world.run, frame)
    if frame == "alerts":
        code, text = _invoke(["score", str(world.run), "--incidents", str(world.incidents)])
        assert code == 2 and "alerts.parquet" in text


@pytest.mark.parametrize("body", ["", "{", "[]", "42", '"text"', "\x00\x01", "null"])
def test_a_garbage_manifest_is_named_in_the_error(world: World, body: str) -> None:
    (world.run / "manifest.json").write_text(body)
    with pytest.raises(InputError, match="manifest"):
        rundir.read_manifest(world.run)
    code, text = _invoke(["report", str(world.run), "--out", str(world.root / "rep")])
    assert code == 2 and "manifest" in text


# ------------------------------------------------------------------------------------------- stores

def test_a_table_name_is_never_pasted_into_sql(world: World) -> None:
    db = world.root / "db.duckdb"
    ingest(world.metrics, db)
    evil = 'x" (a INT); DROP TABLE metrics; CREATE TABLE "y'
    code, text = _invoke(["ingest", str(world.metrics), "--into", str(db), "--table", evil])
    assert code == 2 and "table name" in text
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM metrics").fetchone()[0] == 720  # type: ignore[index]


@pytest.mark.parametrize("label", ['a"b', "with space", "x'); DROP TABLE metrics; --"])
def test_label_names_outside_prometheus_grammar_are_refused_by_ingest(world: World, label: str) -> None:
    frame = _metrics(10).rename({"instance": label})
    with pytest.raises(InputError, match="label names"):
        ingest(frame, world.root / "st")
    assert not (world.root / "st").exists() or not list((world.root / "st").rglob("*.parquet"))


@pytest.mark.parametrize("label", ['a"b', "with space", "x'); DROP TABLE metrics; --"])
def test_a_foreign_dataset_with_hostile_column_names_is_refused_before_any_sql_runs(world: World,
                                                                                     label: str) -> None:
    store = world.root / "foreign" / "bucket=01"
    store.mkdir(parents=True)
    _metrics(100).rename({"instance": label}).write_parquet(store / "part.parquet")
    with pytest.raises(InputError, match="label names"):
        replay_dataset(al.open_dataset(world.root / "foreign"), al.load_rules(world.rules))


@pytest.mark.parametrize("label", ["select", "order", "group_"])
def test_sql_keywords_as_label_names_round_trip_through_both_stores(world: World, label: str) -> None:
    frame = _metrics(100).rename({"instance": label})
    ingest(frame, world.root / "st")
    ingest(frame, world.root / "db.duckdb")
    for source in (al.open_dataset(world.root / "st"), al.open_dataset(world.root / "db.duckdb", table="metrics")):
        assert replay_dataset(source, al.load_rules(world.rules)).alerts.height == 1


def test_a_different_bucket_count_is_refused_not_duplicated(world: World) -> None:
    store = world.root / "st"
    ingest(world.metrics, store)
    code, text = _invoke(["ingest", str(world.metrics), "--into", str(store), "--buckets", "8"])
    assert code == 2 and "16 buckets" in text
    assert ingest(world.metrics, store).written == 0
    stored = pl.read_parquet([store / p for p in read_store_manifest(store)["parts"]])  # type: ignore[index]
    assert stored.height == 720


def test_readers_see_only_committed_parts(world: World) -> None:
    store = world.root / "st"
    ingest(world.metrics, store)
    manifest = read_store_manifest(store)
    # A killed ingest: a new part written, the manifest never switched.
    some = store / manifest["parts"][0]  # type: ignore[index]
    (some.parent / "part-orphan.parquet").write_bytes(some.read_bytes())
    alerts = replay_dataset(al.open_dataset(store), al.load_rules(world.rules)).alerts
    assert alerts.height == al.replay(_metrics(), al.load_rules(world.rules)).alerts.height
    ingest(world.metrics, store)  # the next ingest removes the orphan
    assert not (some.parent / "part-orphan.parquet").exists()


def test_a_garbage_store_manifest_is_a_clear_error(world: World) -> None:
    store = world.root / "st"
    ingest(world.metrics, store)
    (store / STORE_MANIFEST).write_text("{")
    with pytest.raises(InputError, match="store manifest"):
        ingest(world.metrics, store)


# ---------------------------------------------------------------------------------- silence and bounds

SILENT_RULES = {
    "a misspelt metric": ("metric: cpuu", "no-series", "did you mean 'cpu'"),
    "a misspelt label": ("metric: cpu\n    matchers: {sevice: checkout}", "no-series", "did you mean 'service'"),
    "a value nobody has": ("metric: cpu\n    matchers: {service: nowhere}", "no-series", "no series of 'cpu'"),
}


@pytest.mark.parametrize("case", sorted(SILENT_RULES))
def test_a_rule_that_selects_nothing_is_a_warning_not_a_zero(world: World, case: str) -> None:
    selector, code, words = SILENT_RULES[case]
    path = world.root / "silent.yaml"
    path.write_text(f'rules:\n  - name: Quiet\n    kind: threshold\n    {selector}\n    op: ">"\n    value: 80\n')
    result = al.replay(_metrics(), al.load_rules(path))
    assert [n.code for n in result.notices] == [code]
    assert words in str(result.notices[0])
    status, text = _invoke(["replay", str(world.metrics), "--rules", str(path), "--out", str(world.root / "q")])
    assert status == 0 and "warning" in text and words in text
    assert json.loads((world.root / "q" / "manifest.json").read_text())["notices"][0]["code"] == code
    status, text = _invoke(["replay", str(world.metrics), "--rules", str(path), "--out", str(world.root / "q2"),
                            "--strict"])
    assert status == 2 and "strict" in text and not (world.root / "q2").exists()


def test_a_nan_threshold_is_a_warning(world: World) -> None:
    path = world.root / "nan.yaml"
    path.write_text('rules:\n  - name: Never\n    kind: threshold\n    metric: cpu\n    op: ">"\n    value: .nan\n')
    notices = al.replay(_metrics(), al.load_rules(path)).notices
    assert [n.code for n in notices] == ["nan-threshold"] and notices[0].field == "value"


@pytest.mark.parametrize(("start", "end"), [("2020-01-01", "2020-01-02"), ("2030-01-01", "2030-01-02")])
def test_a_window_without_data_is_a_warning(world: World, start: str, end: str) -> None:
    result = al.replay(_metrics(), al.load_rules(world.rules), start=start, end=end)
    assert "no-data-in-window" in [n.code for n in result.notices]


def test_a_stray_sample_from_1970_does_not_stretch_the_grid() -> None:
    frame = _metrics(600)
    stray = frame.head(1).with_columns(pl.lit(datetime(1970, 1, 1, tzinfo=UTC)).alias("timestamp"))
    result = al.replay(pl.concat([stray, frame]), [al.ThresholdRule(name="H", metric="cpu", op=">", value=80)]
                       if hasattr(al, "ThresholdRule") else al.load_rules(REPO / "data/rules/sample.yaml")[:1])
    assert result.grid.size <= 601
    assert [n.code for n in result.notices] == ["stray-samples"] or "stray-samples" in [n.code for n in
                                                                                       result.notices]


@pytest.mark.parametrize("args", [["--eval-interval", "1ms"], ["--start", "1900-01-01"],
                                  ["--start", "2026-03-02", "--end", "2226-03-02"]])
def test_a_grid_that_cannot_fit_is_refused_before_work_starts(world: World, args: list[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALERTSIM_MEMORY_BUDGET", "256MiB")
    code, text = _invoke(["replay", str(world.metrics), "--rules", str(world.rules), "--out",
                          str(world.root / "big"), *args])
    assert code == 2 and "memory budget" in text
    assert not (world.root / "big").exists()


def test_incidents_outside_the_replayed_window_are_listed_not_missed(world: World) -> None:
    extra = world.root / "inc2.csv"
    extra.write_text(INCIDENTS + "INC-OLD,checkout,2025-01-01T00:00:00Z,2025-01-01T01:00:00Z,sev2,long ago\n")
    code, text = _invoke(["score", str(world.run), "--incidents", str(extra)])
    assert code == 0 and "INC-OLD" in text and "left out of recall" in text
    quality = rundir.read_frame(world.run, "quality")
    assert quality["recall"].to_list() == [1.0]
    code, text = _invoke(["score", str(world.run), "--incidents", str(extra), "--strict"])
    assert code == 2


def test_tune_never_recommends_a_candidate_that_never_fires(world: World) -> None:
    grid = world.root / "grid.yaml"
    grid.write_text(RULES.replace("value: 80", "value: [80, 500, 1000]"))
    result = al.tune(_metrics(), grid, al.read_incidents(world.incidents))
    silent = result.candidates.filter(pl.col("alerts") == 0)
    assert silent.height == 2 and not silent["recommended"].any()
    assert "candidate-never-fired" in [n.code for n in result.notices]


@pytest.mark.parametrize("args", [["--replicates", "1000000000"], ["--replicates", "0"],
                                  ["--replicates", "-5"]])
def test_huge_or_impossible_replicate_counts_are_refused(world: World, args: list[str]) -> None:
    code, text = _invoke(["simulate", "--pages", str(REPO / "data/sample/pages.parquet"), "--design",
                          str(REPO / "data/designs/weekly.yaml"), "--out", str(world.root / "sim"), *args])
    assert code == 2 and "replicates" in text


# -------------------------------------------------------------------------------------- API misuse

API_MISUSE = {
    "read_metrics(12345)": (lambda w: al.read_metrics(12345), "path"),
    "read_metrics(None)": (lambda w: al.read_metrics(None), "path"),
    "load_rules(None)": (lambda w: al.load_rules(None), "rules"),
    "load_rules(42)": (lambda w: al.load_rules(42), "rules"),
    "replay(frame, 'r.yaml')": (lambda w: al.replay(_metrics(), str(w.rules)), "load_rules"),
    "replay(frame, [1, 2])": (lambda w: al.replay(_metrics(), [1, 2]), "rules"),
    "replay('m.parquet', rules)": (lambda w: al.replay(str(w.metrics), al.load_rules(w.rules)), "metrics"),
    "replay(None, rules)": (lambda w: al.replay(None, al.load_rules(w.rules)), "metrics"),
    "read_incidents(3.5)": (lambda w: al.read_incidents(3.5), "path"),
    "ingest(frame, 12)": (lambda w: ingest(_metrics(), 12), "into"),
}


@pytest.mark.parametrize("case", sorted(API_MISUSE))
def test_wrong_argument_types_raise_a_typed_error(world: World, case: str) -> None:
    call, words = API_MISUSE[case]
    with pytest.raises(AlertsimError, match=words) as caught:
        call(world)
    assert isinstance(caught.value, ArgumentError | ConfigError | InputError)


# ---------------------------------------------------------------------------------------- bad rule files

BAD_RULE_FILES = {
    "empty rules list": ("rules: []\n", "holds no rules"),
    "not a mapping": ("- a\n- b\n", "rules"),
    "tabs": ("rules:\n\t- name: x\n", "bad.yaml:2"),
    "unknown kind": ('rules:\n  - {name: X, kind: magic, metric: cpu, op: ">", value: 1}\n', "kind"),
    "bad op": ('rules:\n  - {name: X, kind: threshold, metric: cpu, op: "=>", value: 1}\n', "op"),
    "bad duration": ('rules:\n  - {name: X, kind: threshold, metric: cpu, op: ">", value: 1, for: 5 minutes}\n',
                     "for"),
    "empty file": ("", "rules"),
    "binary": ("\x00\x01\x02", "not valid yaml"),
}


@pytest.mark.parametrize("case", sorted(BAD_RULE_FILES))
def test_a_bad_rule_file_is_a_clear_error(world: World, case: str) -> None:
    text, words = BAD_RULE_FILES[case]
    path = world.root / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        al.load_rules(path)
    assert words in str(caught.value).lower()
    code, out = _invoke(["replay", str(world.metrics), "--rules", str(path), "--out", str(world.root / "x")])
    assert code == 2 and "bad.yaml" in out


# ------------------------------------------------------------------------------------ hostile names

HOSTILE_NAMES = ["a$\\nocommand$b", "<img src=x onerror=alert(1)>", "../../etc/passwd", "a/b", "名前",
                 "x|y*z_", "$$", "{{ $labels.x }}"]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_rule_names_replay_and_report_safely(world: World, name: str) -> None:
    path = world.root / "hostile.yaml"
    path.write_text(RULES.replace("name: HighCPU", f"name: {json.dumps(name)}"))
    out = world.root / "hostile-run"
    code, text = _invoke(["replay", str(world.metrics), "--rules", str(path), "--out", str(out)])
    assert code == 0, text
    code, text = _invoke(["report", str(out), "--out", str(world.root / "hostile-report")])
    assert code == 0, text
    markdown = (world.root / "hostile-report" / "report.md").read_text()
    assert not re.search(r"(?<!\\)<img", markdown)


def test_postmortem_markdown_never_carries_raw_html(world: World) -> None:
    incidents = world.root / "evil.csv"
    incidents.write_text(INCIDENTS.replace("checkout cpu", "<img src=x onerror=alert(1)>"))
    out = world.root / "pm"
    code, text = _invoke(["postmortem", str(world.run), "--incident", "INC-1", "--incidents", str(incidents),
                          "--out", str(out)])
    assert code == 0, text
    assert not re.search(r"(?<!\\)<img", (out / "postmortem.md").read_text())


@pytest.mark.parametrize("margin", ["100y", "10000y"])
def test_a_huge_postmortem_margin_is_bounded_by_the_data(world: World, margin: str) -> None:
    code, text = _invoke(["postmortem", str(world.run), "--incident", "INC-1", "--incidents",
                          str(world.incidents), "--out", str(world.root / "pm"), "--margin", margin])
    assert code in (0, 2), text
    assert "internal error" not in text


def test_strict_error_lists_every_notice() -> None:
    from alertsim.errors import Notice

    error = StrictError([Notice(code="a", message="one"), Notice(code="b", message="two")])
    assert "one" in str(error) and "two" in str(error)


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_design_names_simulate_and_draw(world: World, name: str) -> None:
    design = world.root / "evil.yaml"
    text = (REPO / "data/designs/weekly.yaml").read_text().replace("name: weekly", f"name: {json.dumps(name)}", 1)
    design.write_text(text)
    out = world.root / "sim"
    code, output = _invoke(["simulate", "--pages", str(REPO / "data/sample/pages.parquet"), "--design", str(design),
                            "--design", str(REPO / "data/designs/daily.yaml"), "--replicates", "5", "--out", str(out)])
    assert code == 0, output
    assert all(p.parent == out for p in out.rglob("*"))  # nothing written outside the run


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_every_figure_draws_hostile_names_literally(name: str) -> None:
    import io

    import matplotlib.pyplot as plt

    from alertsim.report import figures

    at = datetime(2026, 3, 2, tzinfo=UTC)
    people = pl.DataFrame({"responder": [name, "ok"], "business": [1, 2], "off_hours": [0, 1], "sleep": [2, 0]})
    designs = pl.DataFrame({"design": [name, "b"], "mtta_mean_min": [3.0, 4.0]})
    spans = pl.DataFrame({"rule": [name], "state": ["firing"], "start_at": [at], "end_at": [at + timedelta(hours=1)]})
    series = pl.DataFrame({"series": [name] * 2, "timestamp": [at, at + timedelta(hours=1)], "value": [1.0, 2.0]})
    candidates = pl.DataFrame({"family": [name], "pages_per_week": [1.0], "recall": [0.5], "frontier": [True],
                               "recommended": [True]})
    axes = [figures.plot_interruptions(people), figures.plot_designs(designs), figures.plot_pareto(candidates),
            *figures.plot_timeline(metrics=series, incident={"incident_id": name, "started_at": at,
                                                             "resolved_at": at + timedelta(hours=1)},
                                   spans=spans, marks=[(at, name, "blue")])]
    for ax in axes:
        ax.figure.savefig(io.BytesIO(), format="png")
        plt.close(ax.figure)


# ------------------------------------------------------------------------------------ bad metric files

BAD_METRICS = {
    "missing file": (None, "no such file"),
    "empty file": ("", "empty"),
    "header only": ("timestamp,metric,value\n", "header only"),
    "no value column": ("timestamp,metric\n2026-03-02T00:00:00Z,cpu\n", "value"),
    "text values": ("timestamp,metric,value\n2026-03-02T00:00:00Z,cpu,high\n", "value"),
    "bad timestamp": ("timestamp,metric,value\nyesterday,cpu,1\n", "timestamp"),
    "bad metric name": ("timestamp,metric,value\n2026-03-02T00:00:00Z,cpu\tload,1\n", "metric"),
    "binary garbage": ("\x00\x01\x02\x03", ""),
    "ragged rows": ("timestamp,metric,value\n2026-03-02T00:00:00Z,cpu,1,extra,more\n", ""),
}


@pytest.mark.parametrize("case", sorted(BAD_METRICS))
@pytest.mark.parametrize("command", ["validate", "replay"])
def test_bad_metric_files_are_clear_errors(world: World, case: str, command: str) -> None:
    body, words = BAD_METRICS[case]
    path = world.root / "bad.csv"
    if body is not None:
        path.write_text(body)
    args = ["validate", str(path)] if command == "validate" else [
        "replay", str(path), "--rules", str(world.rules), "--out", str(world.root / "out")]
    before = world.snapshot()
    code, text = _invoke(args)
    assert code in (1, 2), text
    assert "bad.csv" in text and words.lower() in text.lower()
    assert world.snapshot() == before
    assert not (world.root / "out").exists()
