"""Plain-text output for the terminal: aligned tables and counted nouns."""

from __future__ import annotations

from collections.abc import Sequence


def text_table(headers: Sequence[str], rows: Sequence[Sequence[object]], align: str) -> str:
    """Columns padded to their widest cell, two spaces apart; `align` is one "l" or "r" per
    column. Trailing spaces are cut from every line."""
    if len(align) != len(headers):
        raise ValueError(f"align {align!r} has {len(align)} letters for {len(headers)} columns")
    cells = [[str(c) for c in headers], *([str(c) for c in row] for row in rows)]
    widths = [max(len(c) for c in column) for column in zip(*cells, strict=True)]

    def line(row: list[str]) -> str:
        padded = [
            c.ljust(w) if a == "l" else c.rjust(w)
            for c, w, a in zip(row, widths, align, strict=True)
        ]
        return "  ".join(padded).rstrip()

    return "\n".join(line(row) for row in cells)


def count_noun(count: int, noun: str, plural: str | None = None) -> str:
    """`count_noun(1, "epoch")` -> "1 epoch", `count_noun(4, "epoch")` -> "4 epochs"."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"
