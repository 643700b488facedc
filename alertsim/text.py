"""Names users choose (rules, responders, designs, incidents) shown as they are, in any output.

Matplotlib reads ``$...$`` in any text as mathtext, so a rule named ``a$\\nocommand$b`` would fail
to draw; :func:`plain` escapes the dollar signs so the name is drawn literally.

>>> safe_file_name("../a/b c")
'_.._a_b_c'
>>> plain("cost in $ per $hour")
'cost in \\\\$ per \\\\$hour'
"""

from __future__ import annotations


def plain(text: object) -> str:
    """``text`` as a string matplotlib draws literally (every ``$`` escaped)."""
    return str(text).replace("$", r"\$")


def plain_all(texts: object) -> list[str]:
    """:func:`plain` of every item of ``texts``."""
    return [plain(t) for t in texts]  # type: ignore[attr-defined]


def safe_file_name(name: object) -> str:
    """``name`` as one file name: characters other than letters, digits, ``.``, ``_``, ``-`` become ``_``
    (a ``/`` can never reach another directory), and it never starts with a dot (never hidden, never ``..``)."""
    text = "".join(c if c.isalnum() or c in "._-" else "_" for c in str(name)) or "_"
    return "_" + text if text.startswith(".") else text
