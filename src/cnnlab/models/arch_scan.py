"""The scanner of architecture strings: text -> tokens (names, numbers, punctuation), by one
regular expression. Spaces, newlines and `# comments` are skipped; any other character comes out
as a "stray" token, which the parser (`cnnlab.models.arch_parse`) reports where it meets it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple


class Token(NamedTuple):
    kind: str  # "name" | "number" | "(" | ")" | "," | "=" | "stray" | "end"
    text: str
    start: int  # offset in the source text


_TOKEN_RE = re.compile(
    r"""
      (?P<skip>[ \t\r\n]+ | \#[^\n]*)                                  # spaces and comments
    | (?P<number>[+-]?(?:[0-9]+\.?[0-9]* | \.[0-9]+)(?:[eE][+-]?[0-9]+)?)
    | (?P<name>(?:(?:torch\.)?nn\.)?[A-Za-z_][A-Za-z0-9_]*)          # nn.Conv2d: PyTorch's
    | (?P<punct>[(),=])
    | (?P<stray>.)                                                     # anything else
    """,
    re.VERBOSE | re.DOTALL,
)


def scan(text: str) -> Iterator[Token]:
    """The tokens of `text`, then one "end" token. Unknown characters come out as "stray"."""
    for match in _TOKEN_RE.finditer(text):
        kind = match.lastgroup
        if kind == "skip":
            continue
        if kind == "punct":
            kind = match.group()
        yield Token(kind, match.group(), match.start())
    yield Token("end", "", len(text))
