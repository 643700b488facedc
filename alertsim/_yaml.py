"""YAML text to a document, with a syntax error reported as a :class:`ConfigError` naming its line.

A plain scalar under a ``name`` key is always a string: ``name: Null``, ``name: yes`` and ``name: 404``
name a rule, a group or a receiver ``"Null"``, ``"yes"`` and ``"404"`` (YAML would read null, true and
404).

>>> load_yaml("rules: [{name: Null}, {name: 404}, {name: ~}]")
{'rules': [{'name': 'Null'}, {'name': '404'}, {'name': '~'}]}
"""

from __future__ import annotations

from typing import Any

import yaml

from alertsim.errors import ConfigError

_STR = "tag:yaml.org,2002:str"


def _names_as_strings(node: yaml.Node, seen: set[int]) -> None:
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key, item in node.value:
            if (isinstance(key, yaml.ScalarNode) and key.value == "name" and isinstance(item, yaml.ScalarNode)
                    and item.style is None):
                item.tag = _STR
            _names_as_strings(item, seen)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _names_as_strings(item, seen)


class _Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that reads a ``name`` as the string it was written as."""

    def construct_document(self, node: yaml.Node) -> Any:
        _names_as_strings(node, set())
        return super().construct_document(node)


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
        return yaml.load(text, Loader=_Loader)
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
        return list(yaml.load_all(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"not valid YAML: {getattr(exc, 'problem', exc)}", file=file,
                          line=mark.line + 1 if mark else None) from None
