"""Architecture strings such as `Conv2d(16, 3, padding=1) ReLU MaxPool2d(2) Flatten Linear(10)`.

Read by a regex scanner and a recursive-descent parser, never by `eval`: all it can produce are
the registry's layers (`cnnlab.models.layers.KINDS`) with numbers, True/False and integer pairs as
arguments. Anything else is a `UserError` naming the layer, its line and column.

Grammar (spaces, newlines and `# comments` between tokens are skipped; a NAME may carry PyTorch's
`nn.` or `torch.nn.` prefix, so a pasted `nn.Sequential(...)` or its body reads as written):

    architecture := "Sequential" "(" calls ")" | calls
    calls        := call ( [","] call )* [","]
    call         := NAME [ "(" [ argument ( "," argument )* [","] ] ")" ]
    argument     := NAME "=" value | value          # positional ones first
    value        := NUMBER | "True" | "False" | "(" NUMBER "," NUMBER ")"

Which parameters the positional arguments fill is the kind's rule (`LayerKind.positional_order`):
the required ones with the input size left out (`Conv2d(16, 3)`, `Linear(10)`), or, given more,
PyTorch's full order with the input size first (`Conv2d(1, 16, 3)`, `Linear(5408, 10)`).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import NoReturn

from cnnlab.errors import UserError
from cnnlab.models.arch_scan import Token, scan
from cnnlab.models.layers import KINDS, KNOWN_LAYERS
from cnnlab.models.layers.params import REQUIRED, BadValueError, Value, format_value

MAX_CHARS = 10_000
MAX_LAYERS = 100
MAX_NUMBER_CHARS = 30  # also keeps int() far from Python's 4,300-digit limit
_EXAMPLE = "Conv2d(16, 3) ReLU Flatten Linear(10)"


@dataclass(frozen=True)
class LayerCall:
    """One layer as written: `Conv2d(16, 3)` -> kind "Conv2d", kwargs with every argument."""

    kind: str  # PyTorch class name
    kwargs: dict  # PyTorch keyword name -> value, defaults filled in, input size left out
    position: int  # 1-based place in the architecture
    text: str = field(compare=False)  # the call as written; two spellings of one call are equal
    # The input size when written (`in_channels` of `Conv2d(1, 16, 3)`), None when left out;
    # `spec_from_string` checks it against the inferred one, so the spec never holds it.
    input_size: int | None = field(default=None, compare=False)


# ----------------------------------------------------------------------------------------- parser


class _Parser:
    """Recursive descent over `scan(text)`, one method per grammar rule, one token of lookahead."""

    def __init__(self, text: str):
        self.text = text
        self.tokens = scan(text)
        self.token = next(self.tokens)
        self.layer = 0  # 1-based number of the call being read, for error messages
        self.call_start = 0

    def architecture(self) -> list[LayerCall]:
        if self.token.kind == "name" and _kind(self.token.text) == "Sequential":
            self.advance()
            if self.look().kind != "(":
                self.fail(self.token, f"expected '(' after Sequential, found {_show(self.token)}")
            self.advance()
            calls = self.calls(until=")")
            self.advance()  # the closing ")"
            if self.look().kind != "end":
                self.fail(self.token, "nothing may follow the closing ')' of Sequential(...)")
            return calls
        return self.calls(until="end")

    def calls(self, until: str) -> list[LayerCall]:
        """Layer calls, each optionally followed by a comma, up to a token of kind `until`."""
        calls = []
        # `self.token`, not `look()`: a stray character is reported as part of the next layer
        while self.token.kind != until:
            if self.token.kind == "end":
                self.fail(self.token, "a '(' is never closed; add the missing ')'")
            self.layer += 1
            self.call_start = self.token.start
            if self.layer > MAX_LAYERS:
                self.fail(self.token, f"an architecture holds at most {MAX_LAYERS} layers")
            calls.append(self.call())
            if self.token.kind == ",":
                self.advance()
        return calls

    def call(self) -> LayerCall:
        name = self.look()
        if name.kind != "name":
            self.fail(name, f"expected a layer name such as Conv2d or ReLU, found {_show(name)}")
        self.advance()
        if _kind(name.text) not in KINDS:
            self.fail(name, _unknown_layer(_kind(name.text)))
        positional: list[tuple[Token, Value]] = []
        keywords: dict[str, tuple[Token, Value]] = {}
        end = name.start + len(name.text)
        if self.token.kind == "(":  # a stray character here belongs to the next layer's report
            self.advance()
            self.arguments(positional, keywords)
            end = self.advance().start + 1  # the closing ")"
        text = self.text[name.start : end]
        kwargs = self.bind(name, positional, keywords, end)
        input_size = kwargs.pop(KINDS[_kind(name.text)].input_size, None)
        return LayerCall(_kind(name.text), kwargs, self.layer, text, input_size)

    def arguments(self, positional: list, keywords: dict) -> None:
        """Reads `argument ("," argument)*` up to, not including, the closing parenthesis."""
        if self.look().kind == ")":
            return
        while True:
            self.argument(positional, keywords)
            token = self.look()
            if token.kind == ")":
                return
            if token.kind == "end":
                self.fail(token, "a '(' is never closed; add the missing ')'")
            if token.kind != ",":
                self.fail(token, f"expected ',' or ')' after an argument, found {_show(token)}")
            self.advance()
            if self.look().kind == ")":  # a trailing comma, as Python allows
                return

    def argument(self, positional: list, keywords: dict) -> None:
        token = self.look()
        if token.kind == "name":
            self.advance()
            if self.look().kind == "=":
                self.advance()
                if token.text in keywords:
                    self.fail(token, f"the keyword {token.text!r} is given twice")
                keywords[token.text] = (token, self.value())
                return
            if token.text not in _BOOLEANS:
                self.fail(token, f"{_short(token.text)!r} is not a value; {_VALUES}")
            value: Value = _BOOLEANS[token.text]
        else:
            value = self.value()
        if keywords:
            self.fail(token, "a positional argument cannot follow a keyword argument")
        positional.append((token, value))

    def value(self) -> Value:
        token = self.look()
        if token.kind == "number":
            return self.number()
        if token.kind == "name" and token.text in _BOOLEANS:
            self.advance()
            return _BOOLEANS[token.text]
        if token.kind == "(":
            return self.pair()
        self.fail(token, f"expected a value, found {_show(token)}; {_VALUES}")

    def pair(self) -> tuple[int, int]:
        self.advance()  # the "("
        first = self.pair_item()
        self.expect_in_pair(",")
        second = self.pair_item()
        self.expect_in_pair(")")
        return (first, second)

    def pair_item(self) -> int:
        token = self.look()
        value = self.number() if token.kind == "number" else None
        if type(value) is not int:
            self.fail(token, f"a pair holds two integers, like (3, 3); found {_show(token)}")
        return value

    def expect_in_pair(self, kind: str) -> None:
        token = self.look()
        if token.kind != kind:
            self.fail(token, f"a pair holds two integers, like (3, 3); found {_show(token)}")
        self.advance()

    def number(self) -> int | float:
        token = self.advance()
        if len(token.text) > MAX_NUMBER_CHARS:
            self.fail(token, f"the number {_short(token.text)!r} is too long")
        if re.fullmatch(r"[+-]?[0-9]+", token.text):
            return int(token.text)
        value = float(token.text)
        if value in (float("inf"), float("-inf")):
            self.fail(token, f"the number {token.text!r} is too large")
        return value

    def bind(self, name: Token, positional: list, keywords: dict, end: int) -> dict:
        """Matches the arguments to the kind's parameters like Python would (positional ones by
        `LayerKind.positional_order`), then checks each. The input size, when given, is in the
        result under its PyTorch name (`in_channels`, ...)."""
        kind = KINDS[_kind(name.text)]
        order = kind.positional_order(len(positional), set(keywords))
        if len(positional) > len(order):
            token = positional[len(order)][0]
            self.fail(token, f"too many positional arguments; {kind.signature()}", end)
        # zip stops at the shorter list: the parameters left over are given by keyword or default
        given = {param.name: arg for param, arg in zip(order, positional, strict=False)}
        params = kind.full_params()
        for key, (token, value) in keywords.items():
            if key in kind.ignored and value in (True, False):  # see LayerKind.ignored
                continue
            if key not in {param.name for param in params}:
                problem = f"{_short(key)!r} is not an argument of {kind.name}; {kind.signature()}"
                self.fail(token, problem, end)
            if key in given:
                self.fail(token, f"{key!r} is given twice, by position and by keyword", end)
            given[key] = (token, value)
        kwargs = {}
        for param in params:
            if param.name not in given:
                if param.name == kind.input_size:
                    continue  # left out: inferred from the layer before
                if param.default is REQUIRED:
                    problem = f"the argument {param.name!r} is missing; {kind.signature()}"
                    self.fail(name, problem, end)
                kwargs[param.name] = param.default
                continue
            token, value = given[param.name]
            try:
                kwargs[param.name] = param.check(value)
            except BadValueError as err:
                problem = f"{param.name} must be {err}, not {format_value(value)}"
                self.fail(token, problem, end)
        return kwargs

    # -- token handling and errors

    def look(self) -> Token:
        """The current token; a stray character is reported here, where the parser meets it."""
        if self.token.kind == "stray":
            self.fail(self.token, _stray(self.token.text))
        return self.token

    def advance(self) -> Token:
        token = self.token
        self.token = next(self.tokens)
        return token

    def fail(self, token: Token, problem: str, end: int | None = None) -> NoReturn:
        """Raises the one-sentence error: layer number, the call so far, line, column, problem."""
        stop = max(token.start + len(token.text), end or 0)
        snippet = _short(" ".join(self.text[self.call_start : stop].split()))
        line = self.text.count("\n", 0, token.start) + 1
        column = token.start - self.text.rfind("\n", 0, token.start)
        where = f"layer {self.layer} ({snippet!r}) at line {line}, column {column}"
        raise UserError(f"Architecture {where}: {problem}.")


_BOOLEANS = {"True": True, "False": False}
_VALUES = "values are integers, decimals like 0.5 or 1e-3, True, False or pairs like (3, 3)"


def _kind(name: str) -> str:
    """The class name of a written name: `nn.Conv2d` and `torch.nn.Conv2d` are `Conv2d`."""
    return name.rpartition(".")[2]


def _show(token: Token) -> str:
    return "the end of the text" if token.kind == "end" else repr(_short(token.text))


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _stray(char: str) -> str:
    if char in ";.[]{}'\"":
        return (
            f"the character {char!r} is not allowed; write layer calls separated by spaces, "
            f"like '{_EXAMPLE}'"
        )
    return f"the character {char!r} is not allowed in an architecture"


def _unknown_layer(name: str) -> str:
    by_lower = {known.lower(): known for known in KNOWN_LAYERS}
    close = difflib.get_close_matches(name.lower()[:40], by_lower, n=1, cutoff=0.6)
    hint = f" (did you mean {by_lower[close[0]]}?)" if close else ""
    return f"unknown layer {_short(name)!r}{hint}; known layers are {', '.join(KNOWN_LAYERS)}"


# ------------------------------------------------------------------------------ public functions


def parse_architecture(text: str) -> list[LayerCall]:
    """The layer calls of an architecture string, checked; a `UserError` for anything else."""
    if len(text) > MAX_CHARS:
        raise UserError(
            f"The architecture text is {len(text):,} characters long; the limit is "
            f"{MAX_CHARS:,}, so write it shorter."
        )
    calls = _Parser(text).architecture()
    if not calls:
        raise UserError(f"The architecture is empty; write layers such as '{_EXAMPLE}'.")
    return calls
