"""The fatigue report: a self-contained ``index.html`` (figures embedded) and ``report.md`` from a run
directory, figures also saved as PNG. Sections appear when the run holds their frames:

=========================  ============================================================================
section                    frames of the run directory
=========================  ============================================================================
Executive summary          whatever is present
Rule quality               ``quality`` (from ``score``), ``missed`` (incidents no rule caught)
Recommendations            ``quality`` + ``tune_candidates``/``tune_recommendations`` (+ ``pages``)
Tuning (Pareto)            ``tune_candidates``
When pages arrive          ``interruptions`` (responder's local time)
Interruptions and fairness ``fatigue_responders``
Response times             ``response_times``, ``trend_tta``, ``trend_ttr``
Simulated designs          ``sim_summary``
=========================  ============================================================================

Every label, rule and person name is user data and is escaped (Jinja2 autoescaping in HTML;
Markdown special characters escaped in ``report.md``).
"""

from __future__ import annotations

import base64
import html
import io
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import jinja2
import matplotlib.pyplot as plt
import polars as pl

from alertsim.io.rundir import claim_output, os_error, read_manifest
from alertsim.quality import fairness
from alertsim.quality.activity import rule_activity
from alertsim.quality.fatigue import noisy_rules
from alertsim.report import figures
from alertsim.report.tables import display_value, header
from alertsim.tune import FAR_BELOW, TODAY, action

TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class Figure:
    name: str
    caption: str
    png: bytes

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass
class Section:
    title: str
    anchor: str
    paragraphs: list[str] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


def table(frame: pl.DataFrame, columns: list[str] | None = None, *, caption: str = "", limit: int = 50) -> Table:
    """A frame as display strings (header names with underscores as spaces)."""
    columns = [c for c in (columns or frame.columns) if c in frame.columns]
    rows = [[display_value(v) for v in row] for row in frame.select(columns).head(limit).iter_rows()]
    return Table(columns=[header(c) for c in columns], rows=rows, caption=caption)


def _figure(name: str, caption: str, draw: Callable[[Any], Any], size: tuple[float, float] = (8, 4)) -> Figure:
    fig, ax = plt.subplots(figsize=size, layout="constrained")
    try:
        draw(ax)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=110)
    finally:
        plt.close(fig)
    return Figure(name=name, caption=caption, png=buffer.getvalue())


def load_frames(run_dir: str | os.PathLike[str]) -> dict[str, pl.DataFrame]:
    """Every frame of a run directory (``<name>.parquet``)."""
    return {p.stem: pl.read_parquet(p) for p in sorted(Path(run_dir).glob("*.parquet"))}


# ------------------------------------------------------------------------------------------------ sections

def _weeks(frames: Mapping[str, pl.DataFrame], manifest: Mapping[str, Any]) -> float | None:
    start, end = manifest.get("start"), manifest.get("end")
    if start and end:
        span = datetime.fromisoformat(end) - datetime.fromisoformat(start)
        return max(span.total_seconds() / (7 * 86400), 1e-9)
    return None


def recommendations(frames: Mapping[str, pl.DataFrame], weeks: float | None) -> pl.DataFrame:
    """Rules to retune or cut, ranked by pages per week saved, with the recall each change loses."""
    quality = frames.get("quality")
    if quality is None or weeks is None:
        return pl.DataFrame()
    pages = frames.get("pages")
    if pages is not None and "rule" in pages.columns and pages.height:
        per_rule = pages.group_by("rule").agg((pl.len() / weeks).alias("pages_per_week"))
    else:
        alerts = frames.get("alerts", pl.DataFrame({"rule": [], "severity": []}, schema={
            "rule": pl.String, "severity": pl.String}))
        per_rule = (alerts.filter(pl.col("severity") == "page").group_by("rule")
                    .agg((pl.len() / weeks).alias("pages_per_week")))
    table_ = (quality.select("rule", "recall", "precision").join(per_rule, on="rule", how="left")
              .with_columns(pl.col("pages_per_week").fill_null(0.0)))
    rows = []
    tuned = frames.get("tune_recommendations")
    for row in table_.iter_rows(named=True):
        family = re.sub(r"\[.*\]$", "", row["rule"])
        if tuned is not None and tuned.height and family in tuned["family"].to_list():
            best = tuned.filter(pl.col("family") == family).row(0, named=True)
            saved = row["pages_per_week"] - (best["pages_per_week"] or 0.0)
            lost = (row["recall"] or 0.0) - (best["recall"] or 0.0)
            if best["rule"] == family + TODAY:
                continue  # tuning keeps today's rule
            if action(best["recall"], row["recall"]) == "consider removing":
                # never a quieter rule that misses what today's catches without saying so
                rows.append({"rule": row["rule"], "action": (
                    f"consider removing: within the budget the best candidate, {best['rule']}, catches "
                    f"{best['recall'] or 0:.0%} of incidents against {row['recall']:.0%} today (below "
                    f"{FAR_BELOW:.0%} of it)"), "pages_saved_per_week": row["pages_per_week"],
                    "recall_lost": row["recall"]})
            elif saved > 0.05 or lost < 0:
                rows.append({"rule": row["rule"], "action": f"retune to {best['rule']}",
                             "pages_saved_per_week": saved, "recall_lost": lost})
        elif row["pages_per_week"] > 0 and not row["recall"]:
            rows.append({"rule": row["rule"], "action": "cut (caught no incident)",
                         "pages_saved_per_week": row["pages_per_week"], "recall_lost": 0.0})
        elif row["pages_per_week"] > 0 and row["precision"] is not None and row["precision"] < 0.3:
            rows.append({"rule": row["rule"], "action": "retune (most pages are noise)",
                         "pages_saved_per_week": row["pages_per_week"] * (1 - row["precision"]),
                         "recall_lost": None})
    if not rows:
        return pl.DataFrame()
    return pl.DataFrame(rows, schema={"rule": pl.String, "action": pl.String,
                                      "pages_saved_per_week": pl.Float64, "recall_lost": pl.Float64}
                        ).sort("pages_saved_per_week", descending=True)


def _summary(frames: Mapping[str, pl.DataFrame], manifest: Mapping[str, Any], weeks: float | None) -> Section:
    s = Section("Executive summary", "summary")
    if manifest.get("start") and manifest.get("end"):
        s.paragraphs.append(f"Period {manifest['start'][:16]} → {manifest['end'][:16]} UTC"
                            + (f" ({weeks:.1f} weeks)." if weeks else "."))
    if "alerts" in frames:
        alerts = frames["alerts"]
        s.bullets.append(f"{alerts['rule'].n_unique()} rules fired {alerts.height} alert episodes"
                         + (f" ({alerts.height / weeks:.1f} per week)." if weeks else "."))
    if "pages" in frames and weeks:
        count = frames["pages"].height
        s.bullets.append(f"After Alertmanager grouping and inhibition: {count} page{'' if count == 1 else 's'} "
                         f"({frames['pages'].height / weeks:.1f} per week).")
    if "quality" in frames:
        q = frames["quality"]
        incidents = int(cast(int | None, q["incidents"].max()) or 0) if q.height else 0
        missed = frames.get("missed")
        caught = incidents - (missed.height if missed is not None else 0)
        s.bullets.append(f"{caught} of {incidents} incidents were caught by at least one rule.")
        noisiest = noisiest_rule(frames, weeks)
        if noisiest:
            s.bullets.append(noisiest)
    if "fatigue_responders" in frames:
        r = frames["fatigue_responders"]
        if "sleep" in r.columns:
            s.bullets.append(f"Sleep-hour interruptions in the page history: {int(r['sleep'].sum())} "
                             f"across {r.height} responders; Gini of sleep burden "
                             f"{display_value(fairness.gini(r['sleep'].fill_null(0).to_list()))} "
                             "(0–1, 0 = even).")
    if "response_times" in frames and frames["response_times"].height:
        row = frames["response_times"].row(0, named=True)
        mtta, mttr = row.get("mtta"), row.get("mttr")
        s.bullets.append(f"MTTA {display_value(mtta)}, MTTR {display_value(mttr)} over the page history.")
    if "sim_summary" in frames and frames["sim_summary"].height:
        best = frames["sim_summary"].sort("mtta_mean_min").row(0, named=True)
        s.bullets.append(f"Best simulated design: {best['design']} (mean MTTA {best['mtta_mean_min']:.1f} min).")
    recs = recommendations(frames, weeks)
    if recs.height:
        top = recs.row(0, named=True)
        s.bullets.append(f"Top recommendation: {top['rule']}: {top['action']} — saves "
                         f"{top['pages_saved_per_week']:.1f} pages per week.")
    return s


def noisiest_rule(frames: Mapping[str, pl.DataFrame], weeks: float | None) -> str | None:
    """The noisiest rule, by false pages per week: pages that fell in no incident of their service
    (with ``pages`` and ``incidents`` in the run); else by false alerts per week, said so."""
    pages, incidents = frames.get("pages"), frames.get("incidents")
    if pages is not None and incidents is not None and weeks and "rule" in pages.columns and pages.height:
        noisy = noisy_rules(pages, incidents).filter(pl.col("rule").is_not_null() & (pl.col("unmatched_pages") > 0))
        if noisy.height:
            row = noisy.sort("unmatched_pages", "rule", descending=[True, False]).row(0, named=True)
            return (f"Noisiest rule: {row['rule']}, {row['unmatched_pages'] / weeks:.1f} false pages per week "
                    f"(pages in no incident of their service; {row['unmatched_pages']} of its {row['pages']} pages).")
    quality = frames.get("quality")
    if quality is None:
        return None
    noisy = quality.filter(pl.col("false_alerts_per_week").is_not_null() & (pl.col("false_alerts") > 0))
    if not noisy.height:
        return None
    row = noisy.sort("false_alerts_per_week", "rule", descending=[True, False]).row(0, named=True)
    return (f"Noisiest rule by false alerts per week (this run has no pages with incidents to count false "
            f"pages): {row['rule']}, {display_value(row['false_alerts_per_week'])} false alerts per week "
            f"(precision {display_value(row['precision'])}).")


def quality_section(frames: Mapping[str, pl.DataFrame]) -> Section | None:
    """The report's rule-quality section (precision, recall, time to detect per rule); None without a quality frame."""
    if "quality" not in frames:
        return None
    s = Section("Rule quality", "quality")
    s.paragraphs.append("Each rule's alerts matched against labelled incidents: precision is the share of "
                        "alerts that matched an incident, recall the share of incidents caught, "
                        "time to detect from incident start to the first matching alert. Reset time is how "
                        "long after an incident was resolved the rule's last matching alert resolved: positive "
                        "means the page outlived the incident, negative that the alert cleared before the "
                        "incident was closed (the incident stayed open longer than the symptom); empty when an "
                        "alert never resolved.")
    s.tables.append(table(frames["quality"], ["rule", "alerts", "false_alerts", "precision", "recall", "f1",
                                              "time_to_detect_median", "time_to_detect_p90",
                                              "reset_time_median", "false_alerts_per_week", "flapping",
                                              "budget_at_detection_median"]))
    if "missed" in frames and frames["missed"].height:
        s.tables.append(table(frames["missed"], caption="Incidents no rule caught"))
    return s


def _activity(frames: Mapping[str, pl.DataFrame], manifest: Mapping[str, Any]) -> Section | None:
    """What each rule did, for a run without incidents (with incidents, the quality section says more)."""
    alerts = frames.get("alerts")
    if "quality" in frames or alerts is None or not alerts.height:
        return None
    if not (manifest.get("start") and manifest.get("end")):
        return None
    period = (datetime.fromisoformat(manifest["start"]), datetime.fromisoformat(manifest["end"]))
    s = Section("What each rule did", "activity")
    s.paragraphs.append("Per rule over the replayed period, loudest first. Pages are those Alertmanager sent for "
                        "the rule (empty when the run has no pages); firing hours add up every series' episodes; "
                        "flapping counts alerts that fired again within an hour of the same series' previous "
                        "alert resolving. Score the run against labelled incidents (alertsim score) to see "
                        "which of these alerts were worth it.")
    s.tables.append(table(rule_activity(alerts, frames.get("pages"), period=period)))
    return s


def _recommendations(frames: Mapping[str, pl.DataFrame], weeks: float | None) -> Section | None:
    recs = recommendations(frames, weeks)
    if not recs.height:
        return None
    s = Section("Recommendations", "recommendations")
    s.paragraphs.append("Ranked by pages saved per week; recall lost is the share of incidents the change "
                        "would stop catching (negative means it catches more). A rule whose best tuned candidate "
                        f"within the budget catches less than {FAR_BELOW:.0%} of what today's rule catches is "
                        "marked \"consider removing\" (what removing it saves and loses), never retuned "
                        "silently.")
    s.tables.append(table(recs))
    return s


def _tuning(frames: Mapping[str, pl.DataFrame]) -> Section | None:
    if "tune_candidates" not in frames:
        return None
    s = Section("Tuning", "tuning")
    cand = frames["tune_candidates"]
    s.figures.append(_figure("pareto", "Recall against pages per week for every candidate.",
                             lambda ax: figures.plot_pareto(cand, ax=ax)))
    if "tune_recommendations" in frames:
        tuned = frames["tune_recommendations"]
        quality = frames.get("quality")
        if quality is not None and {"current_recall", "action"} <= set(tuned.columns):
            # today's rules are the run's own: a candidate far below one of them says so here too
            today = quality.select(pl.col("rule").alias("family"), pl.col("recall").alias("_today"))
            tuned = tuned.join(today, on="family", how="left").with_columns(
                pl.coalesce("current_recall", "_today").alias("current_recall")).drop("_today")
            tuned = tuned.with_columns(pl.Series("action", [
                action(r["recall"], r["current_recall"], is_current=r["rule"] == r["family"] + TODAY)
                for r in tuned.iter_rows(named=True)], dtype=pl.String))
        s.tables.append(table(tuned, caption=f"Recommended candidates (consider removing: the candidate catches "
                                             f"less than {FAR_BELOW:.0%} of what today's rule catches)"))
    return s


def _heatmap(frames: Mapping[str, pl.DataFrame]) -> Section | None:
    inter = frames.get("interruptions")
    if inter is None or "tz" not in inter.columns:
        return None
    at = "interrupted_at" if "interrupted_at" in inter.columns else "paged_at"
    s = Section("When pages arrive", "heatmap")
    s.figures.append(_figure("heatmap", "Interruptions by hour of week in each responder's local time "
                             "(shaded: sleep hours 22–08).",
                             lambda ax: figures.plot_heatmap(inter, at=at, ax=ax), size=(9, 3.4)))
    return s


def _fairness(frames: Mapping[str, pl.DataFrame]) -> Section | None:
    resp = frames.get("fatigue_responders")
    if resp is None:
        return None
    s = Section("Interruptions and fairness", "fairness")
    s.figures.append(_figure("interruptions", "Interruptions per person by time of day.",
                             lambda ax: figures.plot_interruptions(resp, ax=ax)))
    rows = []
    for name in ("interruptions", "off_hours", "sleep"):
        if name in resp.columns:
            values = resp[name].fill_null(0).to_list()
            idx = fairness.indices(values)
            rows.append({"burden": name.replace("_", " "), **idx,
                         "outliers": ", ".join(resp["responder"].gather(fairness.outliers(values)).to_list())})
    if rows:
        s.tables.append(table(pl.DataFrame(rows), caption="Fairness indices, each on its own scale (in its "
                              "header); outliers carry more than 2× the mean"))
    cols: list[str] = [c for c in ("responder", "tz", "pages", "interruptions", "business", "off_hours",
                                   "sleep", "interrupted_hours", "interruptions_per_month", "band")
                       if c in resp.columns]
    s.tables.append(table(resp, cols, caption="Per person"))
    return s


def _response(frames: Mapping[str, pl.DataFrame]) -> Section | None:
    if not any(k in frames for k in ("response_times", "trend_tta", "trend_ttr")):
        return None
    s = Section("Response times", "response")
    if "response_times" in frames:
        s.tables.append(table(frames["response_times"]))
    for key, label in (("trend_tta", "Median time to acknowledge"), ("trend_ttr", "Median time to resolve")):
        if key in frames and frames[key].height:
            def draw(ax: Any, trend: pl.DataFrame = frames[key], trend_label: str = label) -> Any:
                return figures.plot_trend(trend, label=trend_label, ax=ax)

            s.figures.append(_figure(key, f"{label} per week with a bootstrap 95% confidence interval.",
                                     draw))
    return s


def _designs(frames: Mapping[str, pl.DataFrame]) -> Section | None:
    if "sim_summary" not in frames:
        return None
    s = Section("Simulated on-call designs", "designs")
    summary = frames["sim_summary"]
    s.figures.append(_figure("designs", "Mean time to acknowledge per design (95% CI over replicates).",
                             lambda ax: figures.plot_designs(summary, ax=ax)))
    shown = summary.select("design", *[
        pl.format("{} [{}, {}]", *(pl.col(f"{m}{suffix}").round(2) for suffix in ("", "_lo", "_hi"))).alias(m)
        for m in ("mtta_mean_min", "mtta_p90_min", "escalation_rate", "missed_rate", "mttr_mean_min",
                  "sleep_interruptions_per_person", "sleep_gini")
        if all(f"{m}{suffix}" in summary.columns for suffix in ("", "_lo", "_hi"))])
    s.tables.append(table(shown, caption="Mean over replicates [95% interval]; the full table is sim_summary "
                          "in the run directory"))
    if "sim_differences" in frames:
        significant = frames["sim_differences"].filter(pl.col("significant"))
        if significant.height:
            s.tables.append(table(significant, ["design", "baseline", "metric", "difference", "lo", "hi"],
                                  caption="Differences to the baseline design whose 95% interval excludes 0 "
                                  "(paired over replicates)"))
    return s


# ------------------------------------------------------------------------------------------------ output

def markdown_escape(text: str) -> str:
    """``text`` safe in Markdown: punctuation that Markdown or HTML would interpret is backslash-escaped,
    so an incident title such as ``<img src=x onerror=...>`` is shown, never run.

    >>> print(markdown_escape("<img src=x> | *a*"))
    \\<img src=x\\> \\| \\*a\\*
    """
    return re.sub(r"([\\`*_{}\[\]<>()#+!|])", r"\\\1", text)


def _markdown(title: str, sections: list[Section]) -> str:
    lines = [f"# {markdown_escape(title)}", ""]
    for s in sections:
        lines += [f"## {markdown_escape(s.title)}", ""]
        lines += [markdown_escape(p) + "\n" for p in s.paragraphs]
        lines += [f"- {markdown_escape(b)}" for b in s.bullets]
        if s.bullets:
            lines.append("")
        for f in s.figures:
            lines += [f"![{markdown_escape(f.caption)}](figures/{f.name}.png)", ""]
        for t in s.tables:
            if t.caption:
                lines += [f"*{markdown_escape(t.caption)}*", ""]
            lines.append("| " + " | ".join(markdown_escape(c) for c in t.columns) + " |")
            lines.append("|" + "---|" * len(t.columns))
            lines += ["| " + " | ".join(markdown_escape(c) for c in row) + " |" for row in t.rows]
            lines.append("")
    return "\n".join(lines) + "\n"


def _fidelity(frames: Mapping[str, pl.DataFrame]) -> Section | None:
    if "fidelity" not in frames:
        return None
    table_ = frames["fidelity"]
    s = Section("Fidelity against production", "fidelity")
    matched = int(table_["matched"].sum())
    total = int(table_["production"].sum()) + int(table_["only_replayed"].sum())
    s.paragraphs.append("The replay's alert episodes compared with those production's ALERTS series recorded: an "
                        "episode matches when it fired and resolved at the same instants.")
    s.bullets.append(f"{matched} of {total} episodes match ({100.0 * matched / total if total else 100.0:.1f}%).")
    s.bullets += [f"{rule}: {causes}" for rule, causes in table_.select("rule", "causes").rows() if causes]
    s.tables.append(table(table_, ["rule", "production", "replayed", "matched", "matched_pct", "only_replayed",
                                   "only_production", "max_fired_diff_s", "max_resolved_diff_s",
                                   "production_offset_s"]))
    episodes = frames.get("fidelity_episodes")
    if episodes is not None and episodes.filter(~pl.col("match")).height:
        s.tables.append(table(episodes.filter(~pl.col("match")), caption="Episodes that do not match"))
    return s


def build_report(run_dir: str | os.PathLike[str], out: str | os.PathLike[str], *,
                 title: str | None = None) -> Path:
    """Write ``index.html``, ``report.md`` and ``figures/*.png`` for ``run_dir`` into ``out``, atomically.

    >>> build_report("runs/demo", "reports/demo")  # doctest: +SKIP
    PosixPath('reports/demo')
    """
    manifest = read_manifest(run_dir)
    frames = load_frames(run_dir)
    weeks = _weeks(frames, manifest)
    title = title or manifest.get("title") or "Alert fatigue report"
    sections = [s for s in (_summary(frames, manifest, weeks), _activity(frames, manifest),
                            _recommendations(frames, weeks),
                            quality_section(frames), _fidelity(frames), _tuning(frames), _heatmap(frames),
                            _fairness(frames),
                            _response(frames), _designs(frames)) if s is not None]
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                             autoescape=jinja2.select_autoescape(["html", "j2"]), undefined=jinja2.StrictUndefined)
    page = env.get_template("report.html.j2").render(title=title, sections=sections,
                                                     generated=datetime.now().astimezone().isoformat(
                                                         timespec="seconds"))
    out = claim_output(out)
    try:
        _write_report(out, sections, title, page)
    except OSError as exc:
        raise os_error(exc, out) from None
    return out


def _write_report(out: Path, sections: list[Section], title: str, page: str) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=".report.", dir=out))
    try:
        (tmp / "figures").mkdir()
        for s in sections:
            for f in s.figures:
                (tmp / "figures" / f"{f.name}.png").write_bytes(f.png)
        (tmp / "report.md").write_text(_markdown(title, sections), encoding="utf-8")
        (tmp / "index.html").write_text(page, encoding="utf-8")
        # Everything is complete before anything replaces the previous report; index.html goes last.
        shutil.rmtree(out / "figures", ignore_errors=True)
        os.replace(tmp / "figures", out / "figures")
        os.replace(tmp / "report.md", out / "report.md")
        os.replace(tmp / "index.html", out / "index.html")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


__all__ = ["build_report", "html", "load_frames", "markdown_escape", "recommendations", "table"]
