"""SQL text built from names users give (tables, label columns, paths): quoted, never pasted.

>>> print(identifier('a"b'))
"a""b"
>>> literal("it's")
"'it''s'"
>>> table_name("metrics")
'metrics'
"""

from __future__ import annotations

import re

from alertsim.errors import ConfigError

TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def identifier(name: str) -> str:
    """``name`` as a quoted SQL identifier (double quotes doubled), safe for any label name."""
    return '"' + str(name).replace('"', '""') + '"'


def literal(text: str) -> str:
    """``text`` as a quoted SQL string literal (single quotes doubled)."""
    return "'" + str(text).replace("'", "''") + "'"


def table_name(name: str, *, field: str = "table") -> str:
    """``name`` if it is a plain table name (letters, digits, ``_``; not starting with a digit), else
    a ``ConfigError`` naming what is allowed."""
    if not isinstance(name, str) or not TABLE_NAME.fullmatch(name):
        raise ConfigError(f"table name {name!r} is not allowed: use letters, digits and _ (not starting with a "
                          "digit), at most 63 characters", field=field)
    return name
