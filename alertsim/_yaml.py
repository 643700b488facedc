"""YAML text to a document, with a syntax error reported as a :class:`ConfigError` naming its line."""

from __future__ import annotations

from typing import Any

import yaml

from alertsim.errors import ConfigError


def load_yaml(text: str, *, file: str | None = None) -> Any:
    """The document in ``text`` (``yaml.safe_load``).

    Raises
    ------
    ConfigError
        ``text`` is not valid YAML; names ``file`` and the line of the error.

    Examples
    --------
    >>> load_yaml("groups: [{name: api}]")
    {'groups': [{'name': 'api'}]}
    >>> load_yaml("groups: [{name: api}", file="rules.yml")
    Traceback (most recent call last):
    ...
    alertsim.errors.ConfigError: rules.yml:1: not valid YAML: expected ',' or ']', but got '<stream end>'
    """
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"not valid YAML: {getattr(exc, 'problem', exc)}", file=file,
                          line=mark.line + 1 if mark else None) from None


def load_yaml_documents(text: str, *, file: str | None = None) -> list[Any]:
    """Every document of a multi-document YAML stream (``---`` separated), empty ones as ``None``.

    Raises
    ------
    ConfigError
        ``text`` is not valid YAML; names ``file`` and the line of the error.

    Examples
    --------
    >>> load_yaml_documents("a: 1\\n---\\nb: 2\\n")
    [{'a': 1}, {'b': 2}]
    """
    try:
        return list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"not valid YAML: {getattr(exc, 'problem', exc)}", file=file,
                          line=mark.line + 1 if mark else None) from None
