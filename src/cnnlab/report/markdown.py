"""Text from the user (a --title, a model or directory name) made inert in the Markdown report.

Markdown passes raw HTML through, so `--title "<script>…"` would run in a viewer. Outside code
the characters that open HTML are written as entities; inside a code span or fence, where
HTML is inert, only a backtick run could end the code early, so the fence is made longer.
"""

from __future__ import annotations

import re


def md_text(value) -> str:
    """Plain text for a Markdown paragraph or table cell: & < > as entities, | escaped."""
    text = str(value)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("|", "\\|").replace("\n", " ")


def _longest_backticks(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)


def md_code(value) -> str:
    """An inline code span holding `value` exactly, whatever backticks it contains."""
    text = str(value).replace("\n", " ")
    ticks = "`" * (_longest_backticks(text) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def md_fence(value) -> str:
    """The backtick fence for a code block holding `value`: longer than any run inside."""
    return "`" * max(3, _longest_backticks(str(value)) + 1)


FILTERS = {"md": md_text, "code": md_code, "fence": md_fence}
