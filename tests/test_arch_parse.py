"""The architecture-string parser: what it accepts, what it refuses, and that it never evaluates."""

from __future__ import annotations

import ast
import random
import re
import string
from pathlib import Path

import pytest

from cnnlab.errors import UserError
from cnnlab.models import arch_parse, arch_scan, arch_text
from cnnlab.models.arch_parse import MAX_CHARS, MAX_LAYERS, LayerCall, parse_architecture
from cnnlab.models.arch_text import (
    MAX_FILE_BYTES,
    canonical_string,
    default_run_name,
    format_call,
    load_architecture_text,
)
from cnnlab.models.layers import KINDS, KNOWN_LAYERS, params

EXAMPLE = (
    "Conv2d(16, 3, padding=1) BatchNorm2d ReLU MaxPool2d(2) Conv2d(32, 3, padding=1) ReLU "
    "MaxPool2d(2) Conv2d(64, 3, padding=1) ReLU Flatten Linear(10)"
)


def conv(out_channels, kernel_size=3, stride=1, padding=0, bias=True) -> dict:
    return {
        "out_channels": out_channels,
        "kernel_size": kernel_size,
        "stride": stride,
        "padding": padding,
        "bias": bias,
    }


def kinds_and_kwargs(calls: list[LayerCall]) -> list[tuple[str, dict]]:
    return [(call.kind, call.kwargs) for call in calls]


def typed(calls: list[LayerCall]) -> list:
    """The calls with every value's type, so 1 and 1.0 or True and 1 do not compare equal."""
    return [(c.kind, c.position, {k: (type(v), v) for k, v in c.kwargs.items()}) for c in calls]


# ------------------------------------------------------------------------------------ accepted


def test_the_readme_example_parses_to_its_eleven_layers():
    pool = {"kernel_size": 2, "stride": None, "padding": 0}
    calls = parse_architecture(EXAMPLE)
    assert kinds_and_kwargs(calls) == [
        ("Conv2d", conv(16, padding=1)),
        ("BatchNorm2d", {"eps": 1e-5, "momentum": 0.1}),
        ("ReLU", {}),
        ("MaxPool2d", pool),
        ("Conv2d", conv(32, padding=1)),
        ("ReLU", {}),
        ("MaxPool2d", pool),
        ("Conv2d", conv(64, padding=1)),
        ("ReLU", {}),
        ("Flatten", {}),
        ("Linear", {"out_features": 10, "bias": True}),
    ]
    assert [call.position for call in calls] == list(range(1, 12))
    assert [call.text for call in calls[:4]] == [
        "Conv2d(16, 3, padding=1)",
        "BatchNorm2d",
        "ReLU",
        "MaxPool2d(2)",
    ]


def test_pairs_stay_pairs_and_single_integers_stay_integers():
    (call,) = parse_architecture("Conv2d(8, (3, 5), stride=(1,2), padding=(0, 1), bias=False)")
    assert call.kwargs == conv(8, kernel_size=(3, 5), stride=(1, 2), padding=(0, 1), bias=False)
    (call,) = parse_architecture("MaxPool2d(kernel_size=3, stride=2, padding=1)")
    assert call.kwargs == {"kernel_size": 3, "stride": 2, "padding": 1}
    assert parse_architecture("AdaptiveAvgPool2d((1, 1))")[0].kwargs == {"output_size": (1, 1)}


@pytest.mark.parametrize(
    ("text", "kwargs"),
    [
        ("Conv2d(16, 3)", conv(16)),
        ("MaxPool2d(2)", {"kernel_size": 2, "stride": None, "padding": 0}),
        ("AvgPool2d(2)", {"kernel_size": 2, "stride": None}),
        ("BatchNorm1d", {"eps": 1e-5, "momentum": 0.1}),
        ("LeakyReLU", {"negative_slope": 0.01}),
        ("Dropout", {"p": 0.5}),
        ("Linear(10)", {"out_features": 10, "bias": True}),
        ("Tanh", {}),
    ],
)
def test_defaults_are_filled_in_under_pytorch_keyword_names(text, kwargs):
    assert parse_architecture(text)[0].kwargs == kwargs


def test_numbers_in_every_spelling_and_integers_given_for_floats_become_floats():
    calls = parse_architecture(
        "Dropout(0.25) Dropout(p=1) BatchNorm2d(eps=1e-3, momentum=0) LeakyReLU(-.2) "
        "BatchNorm1d(256, 1E-05, 0.)"
    )
    assert typed(calls) == typed(
        [
            LayerCall("Dropout", {"p": 0.25}, 1, ""),
            LayerCall("Dropout", {"p": 1.0}, 2, ""),
            LayerCall("BatchNorm2d", {"eps": 0.001, "momentum": 0.0}, 3, ""),
            LayerCall("LeakyReLU", {"negative_slope": -0.2}, 4, ""),
            LayerCall("BatchNorm1d", {"eps": 1e-5, "momentum": 0.0}, 5, ""),
        ]
    )


def test_comments_newlines_and_empty_parentheses_are_allowed():
    text = """
        # a small CNN, one layer a line
        Conv2d(16, 3)   # 28 -> 26
        ReLU()
        MaxPool2d(
            2,          # 26 -> 13
        stride=2)
        Flatten Linear(10)  # scores
    """
    calls = parse_architecture(text)
    assert [call.kind for call in calls] == ["Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear"]
    assert calls[1].text == "ReLU()"
    assert calls[2].text.startswith("MaxPool2d(\n")
    assert calls[2].text.endswith("stride=2)")
    assert calls[1] == parse_architecture("ReLU ReLU")[1]  # text aside, ReLU() is ReLU


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("Conv2d(16, 3, padding=1)", "Conv2d(16, 3, padding=1)"),
        ("Conv2d(16,3,stride=1,padding=0,bias=True)", "Conv2d(16, 3)"),
        (
            "Conv2d(1, 16, (3, 3), 1, (1, 1), bias=False)",
            "Conv2d(16, (3, 3), padding=(1, 1), bias=False)",
        ),
        ("MaxPool2d(2, (1, 1))", "MaxPool2d(2, stride=(1, 1))"),
        ("Dropout(0.3) Dropout(0.5)", "Dropout(p=0.3) Dropout"),
        ("BatchNorm2d(eps=1e-3)", "BatchNorm2d(eps=0.001)"),
        ("ReLU()", "ReLU"),
    ],
)
def test_the_canonical_string_writes_required_arguments_by_position_and_omits_defaults(
    text, canonical
):
    assert canonical_string(parse_architecture(text)) == canonical


ROUND_TRIP_TEXTS = [
    EXAMPLE,
    "Conv2d(8, (3, 5), stride=(1, 2), padding=(0, 1), bias=False) Tanh AvgPool2d(2, 1)",
    "Conv2d(32, 5, stride=2) LeakyReLU(0.2) Dropout(0.125) AdaptiveAvgPool2d(1) Flatten Linear(10)",
    "Flatten Linear(256, bias=False) BatchNorm1d(eps=1e-3, momentum=0.01) Sigmoid Linear(10)",
    "MaxPool2d((2, 3), stride=(2, 1), padding=(1, 0)) BatchNorm2d(8, 1e-7, 1) LeakyReLU(-0.0)",
]


@pytest.mark.parametrize("text", ROUND_TRIP_TEXTS)
def test_parsing_the_canonical_string_gives_the_same_calls_with_the_same_types(text):
    calls = parse_architecture(text)
    again = parse_architecture(canonical_string(calls))
    assert again == calls
    assert typed(again) == typed(calls)
    assert canonical_string(again) == canonical_string(calls)
    assert [parse_architecture(format_call(c))[0].kwargs for c in calls] == [
        c.kwargs for c in calls
    ]


# ------------------------------------------------------------------------------------- refused

ERROR_CASES = [
    # (text, layer number, line, column, words the message must hold); the column is that of the
    # offending token, for a bad argument value that of the argument (its keyword if it has one)
    ("", None, None, None, "empty"),
    ("  # nothing but a comment\n", None, None, None, "empty"),
    ("Conv3d(16, 3)", 1, 1, 1, "did you mean Conv2d"),
    ("relu", 1, 1, 1, "did you mean ReLU"),
    ("Conv2d(16, 3) ReLu", 2, 1, 15, "did you mean ReLU"),
    ("Conv2d(16, 3, dilation=2)", 1, 1, 15, "'dilation' is not an argument of Conv2d"),
    ("Conv2d(16, 3, __class__=1)", 1, 1, 15, "'__class__' is not an argument"),
    ("Linear(5408, 10, True, 3)", 1, 1, 24, "too many positional arguments"),
    ("Conv2d(1, 16, 3, 1, 0, False)", 1, 1, 24, "too many positional arguments"),
    ("ReLU(1)", 1, 1, 6, "ReLU takes no arguments"),
    ("Conv2d(16, 3, padding=1, padding=2)", 1, 1, 26, "'padding' is given twice"),
    ("Conv2d(1, 16, 3, kernel_size=3)", 1, 1, 18, "given twice, by position and by keyword"),
    ("Conv2d(16, kernel_size=3, 1)", 1, 1, 27, "positional argument cannot follow"),
    ("ReLU Conv2d(16)", 2, 1, 6, "'kernel_size' is missing"),
    ("Linear", 1, 1, 1, "'out_features' is missing"),
    ("Conv2d(16.5, 3)", 1, 1, 8, "out_channels must be a positive integer, not 16.5"),
    ("Conv2d(0, 3)", 1, 1, 8, "positive integer, not 0"),
    ("Conv2d(16, -3)", 1, 1, 12, "kernel_size must be a positive integer"),
    ("Conv2d(16, (3, 0))", 1, 1, 12, "kernel_size must be"),
    ("Conv2d(16, 3, padding=-1)", 1, 1, 15, "padding must be an integer >= 0"),
    ("Conv2d(16, 3, stride=0)", 1, 1, 15, "stride must be a positive integer"),
    ("Conv2d(16, 3, bias=1)", 1, 1, 15, "bias must be True or False, not 1"),
    ("Conv2d(True, 3)", 1, 1, 8, "out_channels must be a positive integer, not True"),
    ("Dropout(p=2)", 1, 1, 9, "p must be a number between 0 and 1, not 2"),
    ("Dropout(-0.1)", 1, 1, 9, "between 0 and 1"),
    ("Dropout((1, 1))", 1, 1, 9, "between 0 and 1"),
    ("BatchNorm2d(eps=0)", 1, 1, 13, "eps must be a number > 0"),
    ("AdaptiveAvgPool2d(2)", 1, 1, 19, "1 or (1, 1)"),
    ("AdaptiveAvgPool2d(True)", 1, 1, 19, "1 or (1, 1)"),
    ("Conv2d(16, (3, 3, 3))", 1, 1, 17, "a pair holds two integers"),
    ("Conv2d(16, (3.0, 3))", 1, 1, 13, "a pair holds two integers"),
    ("Conv2d(16, (3))", 1, 1, 14, "a pair holds two integers"),
    ("Conv2d(16, 3", 1, 1, 13, "never closed"),
    ("Conv2d(16, 3\nReLU", 1, 2, 1, "expected ',' or ')'"),
    ("Conv2d(16, 3))", 2, 1, 14, "expected a layer name"),
    ("(16, 3)", 1, 1, 1, "expected a layer name"),
    ("Conv2d(16, ,3)", 1, 1, 12, "expected a value"),
    ("Conv2d(16, 3, padding=same)", 1, 1, 23, "expected a value"),
    ("Conv2d(16 3)", 1, 1, 11, "expected ',' or ')'"),
    ("Conv2d(16, 3); ReLU", 2, 1, 14, "';' is not allowed"),
    ("ReLU\n  Linear(10) [0]", 3, 2, 14, "'[' is not allowed"),
    ("Linear('10')", 1, 1, 8, '"\'" is not allowed'),
    ('Linear("10")', 1, 1, 8, "'\"' is not allowed"),
    ("Linear(10) * 2", 2, 1, 12, "'*' is not allowed"),
    ("ReLU; Linear(10)", 2, 1, 5, "';' is not allowed"),
    ("Linear(1e999)", 1, 1, 8, "too large"),
    ("Linear(" + "9" * 50 + ")", 1, 1, 8, "too long"),
    ("Linear(١٠)", 1, 1, 8, "not allowed"),  # Arabic-Indic digits are not digits here
]


@pytest.mark.parametrize(("text", "layer", "line", "column", "words"), ERROR_CASES)
def test_bad_text_gives_one_sentence_naming_the_layer_line_column_and_problem(
    text, layer, line, column, words
):
    with pytest.raises(UserError) as caught:
        parse_architecture(text)
    message = str(caught.value)
    assert words in message
    assert message.endswith(".")
    assert "\n" not in message
    if layer is not None:
        assert f"Architecture layer {layer} (" in message
        assert f"at line {line}, column {column}:" in message


def test_the_message_quotes_the_call_as_written():
    with pytest.raises(UserError, match=re.escape("layer 2 ('Conv2d(16.5, 3)')")):
        parse_architecture("ReLU\n   Conv2d(16.5,\n 3)")


@pytest.mark.parametrize("name", ["__import__('os')", "os.system", "Conv3d", "relu", "eval"])
def test_an_unknown_name_lists_every_known_layer(name):
    with pytest.raises(UserError, match="unknown layer") as caught:
        parse_architecture(name)
    assert f"known layers are {', '.join(KNOWN_LAYERS)}." in str(caught.value)


def test_a_name_far_from_every_layer_gets_no_suggestion():
    with pytest.raises(UserError) as caught:
        parse_architecture("os")
    assert "did you mean" not in str(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('x')",
        'eval("1")',
        "exec('import os')",
        "Conv2d(16, 3); import os",
        "Linear(10).__class__",
        "Linear(10).__class__.__bases__[0].__subclasses__()",
        "Linear(__import__('os').getpid())",
        "Linear(10)\nimport os",
        "Linear(10) ReLU lambda: 0",
        "Linear(10 if True else 1)",
        "Linear(*[10])",
        "Linear(**{'out_features': 10})",
        "Linear(0x10)",
        "Linear(10) # fine\n; rm -rf /",
    ],
)
def test_code_injection_attempts_are_refused(text):
    with pytest.raises(UserError, match=r"^Architecture layer"):
        parse_architecture(text)


def test_the_parser_never_calls_eval_exec_compile_or_literal_eval():
    forbidden = {"eval", "exec", "compile", "__import__", "literal_eval", "getattr"}
    for module in (arch_parse, arch_scan, params, arch_text):
        tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in forbidden
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                called = f"{ast.unparse(node.func.value)}.{node.func.attr}"
                assert node.func.attr not in forbidden or called == "re.compile"


def test_too_long_text_and_too_many_layers_are_refused_with_the_limit():
    with pytest.raises(UserError, match="10,001 characters long; the limit is 10,000"):
        parse_architecture("ReLU " * (MAX_CHARS // 5) + "x")
    assert len(parse_architecture("ReLU " * MAX_LAYERS)) == MAX_LAYERS
    with pytest.raises(UserError, match=f"layer {MAX_LAYERS + 1} .* at most {MAX_LAYERS} layers"):
        parse_architecture("ReLU " * (MAX_LAYERS + 1))


# -------------------------------------------------------------------------------------- fuzzing


def _assert_only_user_errors(text: str) -> bool:
    """Whether `text` parsed; a `UserError` is fine, a success must survive a round trip."""
    try:
        calls = parse_architecture(text)
    except UserError as err:
        message = str(err)
    else:
        assert parse_architecture(canonical_string(calls)) == calls
        return True
    assert message.endswith(".")
    return False


def test_random_characters_raise_nothing_but_user_errors():
    # hypothesis is not installed here, so a seeded loop stands in for a property test.
    rng = random.Random(20240601)
    alphabet = string.ascii_letters + string.digits + string.punctuation + " \n\t" + "é١\x00"
    for _ in range(3000):
        _assert_only_user_errors("".join(rng.choices(alphabet, k=rng.randint(0, 40))))


def _random_call(rng: random.Random) -> str:
    """A call that is often valid: a known layer with arguments drawn from good and bad values."""
    kind = rng.choice(KNOWN_LAYERS)
    values = ["0", "1", "3", "16", "-1", "0.5", "1e-3", "2.0", "True", "False", "(1, 1)", "(3, 0)"]
    keywords = [param.name for param in KINDS[kind].full_params()] + ["p", "dilation"]
    args = [rng.choice(values) for _ in range(rng.choice([0, 0, 1, 1, 2, 3]))]
    args += [f"{rng.choice(keywords)}={rng.choice(values)}" for _ in range(rng.choice([0, 0, 1]))]
    return f"{kind}({', '.join(args)})" if args or rng.random() < 0.3 else kind


def test_random_near_valid_calls_raise_nothing_but_user_errors():
    # Random characters rarely get past the first name; these reach argument binding and checks,
    # and one character in five texts is changed to break the syntax in random places.
    rng = random.Random(7)
    parsed = 0
    for _ in range(3000):
        text = "\n".join(_random_call(rng) for _ in range(rng.randint(1, 3)))
        if rng.random() < 0.2:
            at = rng.randrange(len(text))
            text = text[:at] + rng.choice(string.punctuation + "a1 ") + text[at + 1 :]
        parsed += _assert_only_user_errors(text)
    assert parsed > 150  # enough successes for the round trip to be exercised too


# --------------------------------------------------------------------------- --arch files, names


def test_a_value_that_names_no_file_is_the_architecture_itself(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_architecture_text(EXAMPLE) == EXAMPLE
    assert load_architecture_text("") == ""
    assert load_architecture_text("ReLU " * 2000) == "ReLU " * 2000  # too long for a file name
    assert load_architecture_text("Relu\x00") == "Relu\x00"


def test_a_value_that_names_a_file_is_read_as_utf8(tmp_path):
    path = tmp_path / "small.arch"
    path.write_text("# café-sized\nConv2d(16, 3)\nReLU Flatten Linear(10)\n", encoding="utf-8")
    text = load_architecture_text(str(path))
    assert [call.kind for call in parse_architecture(text)] == [
        "Conv2d",
        "ReLU",
        "Flatten",
        "Linear",
    ]
    path.write_bytes(b"\xef\xbb\xbfReLU")  # a byte-order mark from a Windows editor
    assert load_architecture_text(str(path)) == "ReLU"


def test_a_file_too_large_or_not_utf8_is_a_user_error(tmp_path):
    big = tmp_path / "big.arch"
    big.write_text("#" * (MAX_FILE_BYTES + 1), encoding="utf-8")
    with pytest.raises(UserError, match="larger than 64 KiB"):
        load_architecture_text(str(big))
    latin = tmp_path / "latin.arch"
    latin.write_bytes("# caf\u00e9\nReLU".encode("latin-1"))
    with pytest.raises(UserError, match="not UTF-8 text"):
        load_architecture_text(str(latin))


def test_an_unreadable_file_is_a_user_error(tmp_path, monkeypatch):
    path = tmp_path / "locked.arch"
    path.write_text("ReLU", encoding="utf-8")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", refuse)  # chmod 0 would not stop root, who runs CI here
    with pytest.raises(UserError, match=r"Cannot read the architecture file .*Permission denied"):
        load_architecture_text(str(path))


def test_the_run_name_is_a_short_slug_and_the_hash_of_the_canonical_string():
    name = default_run_name(EXAMPLE)
    assert re.fullmatch(r"c16-bn-p-c32-p-c64-l10-[0-9a-f]{8}", name)
    assert name == default_run_name(EXAMPLE)
    assert name == default_run_name(EXAMPLE.replace(" ", "\n  ").replace(", ", ",") + " # x")
    assert default_run_name("ReLU Flatten").startswith("arch-")


def test_different_architectures_get_different_run_names():
    texts = [*ROUND_TRIP_TEXTS, "Conv2d(16, 3)", "Conv2d(16, 5)", "Conv2d(16, 3, bias=False)"]
    texts += ["Conv2d(16, 3) ReLU", "Conv2d(16, 3) Tanh", "Dropout(0.1)", "Dropout(0.2)"]
    names = [default_run_name(text) for text in texts]
    assert len(set(names)) == len(names)
    long = default_run_name(" ".join(f"Conv2d({n}, 3)" for n in range(100, 160)))
    assert len(long) <= arch_text.MAX_SLUG_CHARS + 9
    assert all(re.fullmatch(r"[a-z0-9-]+", name) for name in [*names, long])
