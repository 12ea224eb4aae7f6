"""docs/run-directory.md against a real run: every file and key it names is written, and every
file and key written is named. Parses the doc's tables (first column, names in backticks)."""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path

import numpy as np
import pytest

from cnnlab.cli import main
from cnnlab.training.engines import ENGINES

DOC = Path(__file__).resolve().parents[1] / "docs" / "run-directory.md"
TINY = ["--model", "cnn2", "--epochs", "1", "--train-size", "500", "--val-size", "100"]


def sections() -> dict[str, str]:
    """The doc's level-2 sections by heading, backticks kept: {"`config.json`": body, ...}."""
    parts = re.split(r"^## (.+)$", DOC.read_text(encoding="utf-8"), flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def tables(body: str) -> list[list[list[str]]]:
    """Every Markdown table in `body`: rows of cells, without the header and separator rows."""
    found, current = [], None
    for line in body.splitlines():
        if line.startswith("|"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if current is None:
                current = []
                found.append(current)
            elif not set("".join(cells)) <= set("-: "):
                current.append(cells)
        else:
            current = None
    return found


def ticked(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def first_column(section: str, table: int = 0) -> list[str]:
    return [name for row in tables(sections()[section])[table] for name in ticked(row[0])]


def dig(document: dict, dotted: str) -> bool:
    """Whether the dotted path (`data.split`) leads to a value in `document`."""
    for key in dotted.split("."):
        if not isinstance(document, dict) or key not in document:
            return False
        document = document[key]
    return True


@pytest.fixture(scope="module")
def run(tmp_path_factory, mnist_dir) -> Path:
    """A tiny scratch run, evaluated and with its CAM pictures."""
    out = tmp_path_factory.mktemp("documented")
    data = ["--data-dir", str(mnist_dir)]
    assert main(["train", *TINY, "--engine", "scratch", "--out", str(out), "--quiet", *data]) == 0
    path = out / "cnn2-scratch"
    assert main(["evaluate", str(path), "--quiet", *data]) == 0
    assert main(["cam", str(path), *data]) == 0
    from cnnlab.explain.trust_runs import run_sanity

    run_sanity(path, str(mnist_dir), 2)  # what `cnnlab run` adds: sanity.json, on 2 images
    return path


def documented_patterns() -> list[str]:
    """The Files table's names as glob patterns relative to the run (`<i>` -> `*`)."""
    return [re.sub(r"<[^>]+>", "*", name) for name in first_column("Files")]


def test_every_documented_file_is_written(run):
    for pattern in documented_patterns():
        base = run.parent if pattern.startswith("../") else run
        assert list(base.glob(pattern.removeprefix("../"))), pattern


def test_every_written_file_is_documented(run):
    checkpoint = ENGINES["scratch"].checkpoint_name
    written = [p.relative_to(run).as_posix() for p in run.rglob("*") if p.is_file()]
    written += [f"../{p.name}" for p in run.parent.iterdir() if p.is_file()]
    patterns = documented_patterns()
    for name in written:
        assert name == checkpoint or any(fnmatch.fnmatch(name, p) for p in patterns), name


def test_checkpoint_table_names_every_engine_and_its_file():
    rows = tables(sections()["The checkpoint"])[0]
    assert [ticked(row[0]) for row in rows] == [[name] for name in ENGINES]
    assert [ticked(row[1]) for row in rows] == [[e.checkpoint_name] for e in ENGINES.values()]


def test_numpy_checkpoint_holds_model_optimizer_and_position(run):
    with np.load(run / ENGINES["scratch"].checkpoint_name, allow_pickle=False) as npz:
        names = list(npz.files)
        position = json.loads(str(npz["position"]))
    assert {name.split("/")[0] for name in names} == {"model", "optimizer", "position"}
    assert "model/conv1.weight" in names
    assert {"optimizer/lr", "optimizer/step", "optimizer/exp_avg.0"} <= set(names)
    assert set(position) == set(first_column("The checkpoint", table=1))


@pytest.mark.torch
def test_torch_checkpoint_holds_model_optimizer_and_position(tmp_path, mnist_dir):
    import torch

    argv = ["train", *TINY, "--engine", "torch", "--out", str(tmp_path), "--quiet"]
    assert main([*argv, "--data-dir", str(mnist_dir)]) == 0
    path = tmp_path / "cnn2-torch" / ENGINES["torch"].checkpoint_name
    state = torch.load(path, weights_only=True)
    assert set(state) == {"model", "optimizer", "position"}
    assert set(json.loads(state["position"])) == set(first_column("The checkpoint", table=1))


@pytest.mark.parametrize(
    ("section", "file"),
    [("`config.json`", "config.json"), ("`status.json`", "status.json"),
     ("`evaluation.json`", "evaluation.json")],
)  # fmt: skip
def test_json_keys_match_the_doc_both_ways(run, section, file):
    written = json.loads((run / file).read_text())
    documented = first_column(section)
    for dotted in documented:
        assert dig(written, dotted), f"{file} has no {dotted}"
    tops = {dotted.split(".")[0] for dotted in documented}
    assert set(written) <= tops, f"undocumented in {file}: {set(written) - tops}"
    nested = {d.split(".")[1] for d in documented if d.count(".") == 1 and d.startswith("data.")}
    if file == "config.json":
        assert set(written["data"]) == nested


def test_config_example_has_the_real_keys(run):
    (example,) = re.findall(r"```json\n(.*?)```", sections()["`config.json`"], flags=re.S)
    assert list(json.loads(example)) == list(json.loads((run / "config.json").read_text()))


def test_metrics_records_have_the_documented_keys(run):
    rows = tables(sections()["`metrics.jsonl`"])[0]
    documented = {ticked(row[0])[0]: ticked(row[1]) for row in rows}
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert {record["kind"] for record in records} == set(documented)
    for record in records:
        assert list(record) == documented[record["kind"]]
