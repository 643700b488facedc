"""Shipped designs, design comparison, the ``alertsim simulate`` command and fitted responder models."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from alertsim.cli import app
from alertsim.errors import ConfigError, InputError
from alertsim.oncall.compare import compare, comparison_table, plot_mtta, plot_sleep
from alertsim.oncall.design import load_design, parse_design, read_pages
from alertsim.oncall.responders import Distribution, fit_responders, parse_responders

REPO = Path(__file__).resolve().parents[2]
DESIGNS = sorted((REPO / "data" / "designs").glob("*.yaml"))


def page_frame(count: int = 40, seed: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    start = datetime(2026, 3, 2, tzinfo=UTC)
    return pl.DataFrame({"page_id": [f"P{i:03d}" for i in range(count)],
                         "paged_at": [start + timedelta(hours=float(h))
                                      for h in np.sort(rng.uniform(0, 24 * 28, count))],
                         "urgency": rng.choice(["high", "low"], count, p=[0.8, 0.2]).tolist(),
                         "service": rng.choice(["checkout", "search"], count).tolist()})


def test_the_shipped_designs_cover_what_the_issue_lists() -> None:
    names = {p.stem for p in DESIGNS}
    assert {"weekly", "daily", "split-12h", "follow-the-sun", "primary-secondary-5m",
            "primary-secondary-15m", "primary-secondary-30m"} <= names


@pytest.mark.parametrize("path", DESIGNS, ids=lambda p: p.stem)
def test_every_shipped_design_loads_and_simulates(path: Path) -> None:
    design = load_design(path)
    assert design.name == path.stem
    result = compare(page_frame(), [design], replicates=5, seed=1)
    summary = result.summary.row(0, named=True)
    assert 0 < summary["mtta_mean_min"] < 60 and summary["unrouted_rate"] < 0.05


def test_primary_secondary_delays_order_mtta_and_escalations() -> None:
    designs = [load_design(REPO / "data" / "designs" / f"primary-secondary-{d}.yaml")
               for d in ("5m", "15m", "30m")]
    result = compare(page_frame(60), designs, replicates=60, seed=2, keep_outcomes=False)
    mtta = result.summary["mtta_mean_min"].to_list()
    escalations = result.summary["escalation_rate"].to_list()
    assert mtta[0] < mtta[1] < mtta[2]
    assert escalations[0] > escalations[1] > escalations[2]
    significant = result.differences.filter(pl.col("metric") == "escalation_rate")["significant"]
    assert significant.to_list() == [True, True]
    table = comparison_table(result)
    assert table.columns == ["metric", "primary-secondary-5m", "primary-secondary-15m",
                             "primary-secondary-30m"]
    assert table.row(0)[2].endswith("▲")       # 15m: MTTA significantly higher than 5m


def test_plots_return_their_axes() -> None:
    import matplotlib

    matplotlib.use("Agg")
    result = compare(page_frame(10), [load_design(DESIGNS[0])], replicates=3)
    assert plot_mtta(result).get_ylabel().startswith("MTTA")
    assert plot_sleep(result).get_title() == "Sleep interruptions per person"


def test_compare_rejects_duplicate_names() -> None:
    with pytest.raises(ConfigError, match="unique"):
        compare(page_frame(5), [DESIGNS[0], DESIGNS[0]], replicates=2)


def test_cli_writes_a_run_directory_and_prints_the_comparison(tmp_path: Path) -> None:
    pages = tmp_path / "pages.csv"
    frame = page_frame(30)
    frame.with_columns(pl.col("paged_at").dt.strftime("%Y-%m-%dT%H:%M:%SZ")).write_csv(pages)
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["simulate", "--pages", str(pages), "--design", str(DESIGNS[0]),
                                      "--design", str(DESIGNS[1]), "--replicates", "20", "--seed", "3",
                                      "--out", str(out)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "MTTA mean (min)" in result.output and "significantly" in result.output
    summary = pl.read_csv(out / "summary.csv")
    assert summary["design"].to_list() == [DESIGNS[0].stem, DESIGNS[1].stem]
    for column in ("mtta_mean_min", "mtta_p90_min", "escalation_rate", "missed_rate",
                   "mtta_mean_min_lo", "mtta_mean_min_hi", "missed_rate_lo", "missed_rate_hi"):
        assert column in summary.columns
    outcomes = pl.read_parquet(out / "outcomes.parquet")
    assert outcomes.height == 2 * 20 * 30 and outcomes.columns[0] == "design"
    assert (out / "mtta.png").stat().st_size > 0 and (out / "sleep.png").stat().st_size > 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["command"] == "simulate" and manifest["seed"] == 3


def test_cli_reads_a_run_directory_and_filters_a_team(tmp_path: Path) -> None:
    from alertsim.io.rundir import write_run

    run = write_run(tmp_path / "replay", {"pages": page_frame(12).with_columns(
        pl.Series("team", ["storefront", "payments"] * 6))}, manifest={"command": "notify"})
    out = tmp_path / "sim"
    result = CliRunner().invoke(app, ["simulate", "--pages", str(run), "--design", str(DESIGNS[0]),
                                      "--replicates", "4", "--team", "payments", "--no-outcomes",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert pl.read_csv(out / "summary.csv")["pages"].to_list() == [6]
    assert not (out / "outcomes.parquet").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--design", "nowhere.yaml"], "cannot read design"),
    (["--team", "nobody"], "no pages with team"),
])
def test_cli_errors_are_one_line_not_tracebacks(tmp_path: Path, args: list[str], message: str) -> None:
    pages = tmp_path / "pages.parquet"
    page_frame(5).with_columns(pl.lit("storefront").alias("team")).write_parquet(pages)
    base = ["simulate", "--pages", str(pages), "--out", str(tmp_path / "o"), "--replicates", "2"]
    if "--design" not in args:
        base += ["--design", str(DESIGNS[0])]
    result = CliRunner().invoke(app, base + args)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_read_pages_names_bad_csv_rows(tmp_path: Path) -> None:
    path = tmp_path / "pages.csv"
    path.write_text("page_id,paged_at,urgency\nA,2026-03-02T10:00:00Z,high\nB,yesterday,high\n"
                    "C,2026-03-02T11:00:00,urgent\n")
    with pytest.raises(InputError) as caught:
        read_pages(path)
    assert [(p.row, p.column) for p in caught.value.problems] == [(2, "paged_at")]
    path.write_text("page_id,paged_at,urgency\nA,2026-03-02T10:00:00Z,high\nC,2026-03-02T11:00:00,urgent\n")
    with pytest.raises(InputError, match="urgency") as caught:
        read_pages(path)
    assert caught.value.problems[0].row == 2


def test_load_design_reports_yaml_errors_with_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nescalation:\n  levels: [\n")
    with pytest.raises(ConfigError) as caught:
        load_design(path)
    assert caught.value.file == str(path) and caught.value.line is not None


# ---------------------------------------------------------------------------------- fit_responders


def history(count: int, *, ack_minutes: np.ndarray, work_minutes: np.ndarray, who: list[str],
            acked: np.ndarray | None = None) -> pl.DataFrame:
    start = datetime(2026, 1, 5, 10, tzinfo=UTC)
    paged = [start + timedelta(hours=5 * i) for i in range(count)]
    acked = np.ones(count, dtype=bool) if acked is None else acked
    return pl.DataFrame({
        "page_id": [f"h{i}" for i in range(count)], "paged_at": paged, "urgency": ["high"] * count,
        "acknowledged_at": [p + timedelta(minutes=float(a)) if ok else None
                            for p, a, ok in zip(paged, ack_minutes, acked, strict=True)],
        "resolved_at": [p + timedelta(minutes=float(a + w))
                        for p, a, w in zip(paged, ack_minutes, work_minutes, strict=True)],
        "responder": who})


def test_fit_responders_recovers_exponential_and_lognormal_parameters() -> None:
    rng = np.random.default_rng(4)
    n = 4000
    frame = history(n, ack_minutes=rng.exponential(4.0, n), work_minutes=rng.lognormal(np.log(30), 0.8, n),
                    who=["ana", "bo"] * (n // 2), acked=rng.random(n) >= 0.1)
    fitted = fit_responders(frame, dist="auto")
    ack = fitted.default.ack
    assert ack.dist == "exponential" and ack.mean_seconds() == pytest.approx(240, rel=0.05)  # type: ignore[union-attr]
    work = fitted.default.work["default"]  # type: ignore[index]
    assert work.dist == "lognormal" and work.median.total_seconds() == pytest.approx(1800, rel=0.05)  # type: ignore[union-attr]
    assert work.sigma == pytest.approx(0.8, rel=0.05)
    assert fitted.default.miss == pytest.approx(0.1, abs=0.015)
    assert set(fitted.people) == {"ana", "bo"} and fitted.resolve("ana").ack is not None


def test_fit_responders_estimates_slower_sleep_hours_in_each_persons_zone() -> None:
    rng = np.random.default_rng(8)
    n = 3000
    start = datetime(2026, 1, 5, tzinfo=UTC)
    paged = [start + timedelta(minutes=float(m)) for m in np.sort(rng.uniform(0, 60 * 24 * 90, n))]
    hours = np.array([p.hour for p in paged])            # UTC = the person's zone here
    sleeping = (hours >= 22) | (hours < 8)
    ack = rng.exponential(np.where(sleeping, 9.0, 3.0))
    frame = pl.DataFrame({"page_id": [f"h{i}" for i in range(n)], "paged_at": paged, "urgency": ["high"] * n,
                          "acknowledged_at": [p + timedelta(minutes=float(a)) for p, a in zip(paged, ack,
                                                                                             strict=True)],
                          "resolved_at": [None] * n, "responder": ["ana"] * n},
                         schema_overrides={"resolved_at": pl.Datetime("us", "UTC")})
    factors = fit_responders(frame, dist="exponential").default.hour_factors
    assert factors is not None and factors[2] == pytest.approx(3.0, rel=0.15) and factors[12] == 1.0


def test_fit_responders_needs_the_history_columns() -> None:
    with pytest.raises(InputError, match="acknowledged_at"):
        fit_responders(page_frame(3))


def test_fitted_models_plug_into_a_design() -> None:
    rng = np.random.default_rng(2)
    fitted = fit_responders(history(200, ack_minutes=rng.exponential(2.0, 200),
                                    work_minutes=rng.exponential(20.0, 200), who=["ana"] * 200))
    design = parse_design({"name": "fitted", "escalation": {"levels": [{"targets": ["user:ana"]}]},
                           "responders": {"default": {"ack": {"dist": "constant", "mean": "1m"}}}})
    from dataclasses import replace

    result = compare(page_frame(20), [replace(design, responders=fitted)], replicates=20)
    assert 0.5 < result.summary["mtta_mean_min"][0] < 6


@pytest.mark.parametrize(("raw", "message"), [
    ({"default": {"ack": {"dist": "gamma", "mean": "4m"}}}, "gamma"),
    ({"default": {"ack": {"dist": "lognormal", "median": "2m"}}}, "sigma"),
    ({"default": {"ack": {"dist": "exponential", "mean": "4m"}, "miss": 1.5}}, "out of range"),
    ({"default": {"hour_factors": {"night": 2}}}, "unknown bucket"),
    ({"default": {"work": {"urgent": {"dist": "exponential", "mean": "1h"}}}}, "service:<name>"),
    ({"default": {"tz": "Berlin"}}, "unknown time zone"),
])
def test_bad_responder_models_are_config_errors(raw: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_responders(raw, file="d.yaml")


def test_lognormal_from_mean_and_median_agree() -> None:
    by_median = Distribution(dist="lognormal", median=timedelta(minutes=2), sigma=1.0)
    by_mean = Distribution(dist="lognormal", mean=timedelta(seconds=by_median.mean_seconds()), sigma=1.0)
    u = np.array([0.1, 0.5, 0.9])
    assert np.allclose(by_median.seconds(u), by_mean.seconds(u))
    assert by_median.seconds(np.array([0.5]))[0] == pytest.approx(120)


def test_fit_responders_reads_a_pagerduty_import(tmp_path: Path) -> None:
    from alertsim.io.pagerduty import read_pagerduty

    path = tmp_path / "incidents.csv"
    rows = ["id,service_name,created_on,resolved_on,seconds_to_first_ack,acknowledged_by_user_names,urgency"]
    rows += [f"P{i},checkout,2026-01-05T{10 + i % 10:02d}:00:00Z,2026-01-05T{10 + i % 10:02d}:40:00Z,"
             f"{60 * (1 + i % 5)},ana,{'low' if i % 4 == 0 else 'high'}" for i in range(30)]
    path.write_text("\n".join(rows) + "\n")
    fitted = fit_responders(read_pagerduty(path), dist="exponential")
    assert fitted.resolve("ana").ack.mean == timedelta(minutes=3)  # type: ignore[union-attr]
    assert fitted.default.work["default"].mean == timedelta(minutes=37)  # type: ignore[index]
