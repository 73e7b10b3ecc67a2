"""What the custom task raises and warns, and the wording its messages share.

Every problem with the user's data is a :class:`DataError` with a one-line message that
names the problem and, where there is one, the keyword argument of
:func:`seqbench.tasks.custom` that fixes it, written one of three ways: ``target=...`` (the
keyword, any value), ``drop=True`` (``causal=False``), or ``fill='zero'``
(``fill='ffill'|'zero'``: one of these). The notes of :meth:`~.task.CustomTask.describe` use
the same forms. The command line says them as its flags (``--target``, ``--drop``,
``--no-causal``, ``--fill zero``) in one place,
:func:`seqbench.cli.custom_options.as_flags`, which relies on exactly these forms.
"""

from __future__ import annotations

from typing import Sequence


class DataError(ValueError):
    """A problem with the user's data, told in one line."""


class ReceptiveFieldWarning(UserWarning):
    """The TCN sees fewer past steps than the input holds."""


def row_list(rows: Sequence[int], limit: int = 5) -> str:
    """``"rows 3, 8 and 12"`` style text, at most ``limit`` numbers then a count."""
    rows = [int(r) for r in rows]
    shown = ", ".join(str(r) for r in rows[:limit])
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return f"row{'s' if len(rows) > 1 else ''} {shown}{more}"


def cell(value, limit: int = 80) -> str:
    """``repr(value)`` for a message, cut to ``limit`` characters with its full length said,
    so a huge cell is never echoed whole."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"
