"""Rule files: which format a file is in, and its rules.

A rule file's format is the only thing decided before a rule object exists. :data:`DIALECTS` lists the
formats in the order they are tried; the first that recognises the file's YAML documents (a stream of
``---`` separated documents, empty ones left out) reads it. Adding a format is one module (its
``recognises`` and ``parse``) plus one line here.

>>> [d.name for d in DIALECTS]
['cloudwatch', 'gcp', 'datadog', 'prometheus', 'native']
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alertsim._yaml import load_yaml_documents
from alertsim.errors import ConfigError, InputError, check_type
from alertsim.rules import _recognise, prometheus
from alertsim.rules.base import RuleBase

#: How a notice of a skipped rule ends.
SKIPPED = prometheus.SKIPPED


@dataclass(frozen=True, kw_only=True)
class Dialect:
    """A rule file format: ``recognises(documents)`` says whether a file's YAML/JSON documents are in it;
    ``parse(text, documents, file)`` reads its rules (``text`` is the file's text, for line numbers)."""

    name: str
    recognises: Callable[[list[Any]], bool]
    parse: Callable[[str, list[Any], str], Sequence[RuleBase]]


def _single(recognises: Callable[[Any], bool]) -> Callable[[list[Any]], bool]:
    """A format of one document per file."""
    return lambda documents: len(documents) == 1 and recognises(documents[0])


def _native(document: Any) -> bool:
    return isinstance(document, Mapping) and "rules" in document and "apiVersion" not in document


def _prometheus(documents: list[Any]) -> bool:
    """Prometheus rule files, PrometheusRule manifests, Lists and multi-document streams of them."""
    if len(documents) != 1:
        return True
    document = documents[0]
    return not _native(document) and (prometheus.recognises(document) or (
        isinstance(document, Mapping) and "apiVersion" in document))


def _reader(module: str, function: str) -> Callable[[str, list[Any], str], Sequence[RuleBase]]:
    """``parse`` of a format of one document read by ``alertsim.rules.<module>.<function>``, imported
    when a file in that format is read (telling the format imports none of the formats' modules)."""
    def parse(text: str, documents: list[Any], file: str) -> Sequence[RuleBase]:
        read: Callable[..., Sequence[RuleBase]] = getattr(importlib.import_module(f"alertsim.rules.{module}"),
                                                          function)
        return read(documents[0], file=file)
    return parse


DIALECTS: tuple[Dialect, ...] = (
    # describe-alarms JSON, AlertPolicy, Datadog monitor
    Dialect(name="cloudwatch", recognises=_single(_recognise.cloudwatch_alarms),
            parse=_reader("cloudwatch_alarms", "parse_cloudwatch")),
    Dialect(name="gcp", recognises=_single(_recognise.gcp_policies), parse=_reader("gcp", "parse_gcp")),
    Dialect(name="datadog", recognises=_single(_recognise.datadog_monitors), parse=_reader("datadog", "parse_datadog")),
    Dialect(name="prometheus", recognises=_prometheus,
            parse=lambda text, documents, file: prometheus.parse_prometheus_rules(text, file=file)),
    # alertsim's own format (``rules:``) reads whatever no other format recognised, and says what is wrong.
    Dialect(name="native", recognises=lambda documents: True,
            parse=_reader("config", "parse_rules")),
)


def load_rules(path: str | os.PathLike[str], *, dialects: Sequence[Dialect] = DIALECTS,
               strict: bool = False) -> list[RuleBase]:
    """Load rules from a YAML or JSON file: alertsim's native format (``rules:``), a Prometheus rule file
    (``groups:``), prometheus-operator ``PrometheusRule`` manifests (one or several ``---`` documents, or
    a Kubernetes ``List``), CloudWatch ``describe-alarms`` output, a GCP alert policy or a Datadog monitor.

    ``dialects`` are the formats tried, in order (default :data:`DIALECTS`). Raises ``ConfigError`` naming
    the file, the rule and the field for anything wrong. A rule that alertsim cannot replay is left out
    and reported in the returned list's ``notices`` (:class:`alertsim.rules.base.LoadedRules`);
    ``strict=True`` raises a ``ConfigError`` for it instead.
    """
    check_type(path, (str, os.PathLike), name="rules", expected="the path of a rule file (str or pathlib.Path)")
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read rule file: {exc}", file=str(path)) from None
    documents = [d for d in load_yaml_documents(text, file=str(path)) if d is not None]
    for dialect in dialects:
        if dialect.recognises(documents):
            rules = dialect.parse(text, documents, str(path))
            skipped = [n for n in getattr(rules, "notices", ()) if n.code == "unsupported-rule"]
            if strict and skipped:
                first = skipped[0]
                raise ConfigError(first.message.removesuffix(SKIPPED) + " (strict: a rule that cannot be "
                                  "replayed refuses the file)", file=first.file, rule=first.rule,
                                  field=first.field, line=first.line)
            return rules if isinstance(rules, list) else list(rules)
    raise ConfigError(f"not a rule file in any known format ({', '.join(d.name for d in dialects)})",
                      file=str(path))


RULE_SUFFIXES = (".yaml", ".yml", ".json")


def rule_files(path: str | os.PathLike[str]) -> list[Path]:
    """The rule files of ``path``: the file itself, or every ``*.yaml``/``*.yml``/``*.json`` under a
    directory (sorted, hidden files and directories skipped); ``InputError`` for a missing path or a
    directory without rule files.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> for name in ("b.yml", "a.yaml", "notes.txt", ".hidden.yaml"):
    ...     _ = (folder / name).write_text("rules: []")
    >>> [p.name for p in rule_files(folder)]
    ['a.yaml', 'b.yml']
    """
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise InputError(f"{path} does not exist", file=str(path))
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in RULE_SUFFIXES
                   and not any(part.startswith(".") for part in p.relative_to(path).parts))
    if not files:
        raise InputError(f"{path} holds no rule file (*.yaml, *.yml, *.json)", file=str(path))
    return files


__all__ = ["DIALECTS", "RULE_SUFFIXES", "Dialect", "load_rules", "rule_files"]
