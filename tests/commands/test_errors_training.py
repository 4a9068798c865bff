"""The "Training settings" rows of docs/errors.md: bad values of the issue-9 settings given to search.train.

Each row runs ``python -m search.train`` in an empty folder and checks one line on stderr,
exit 2, and that the folder is still empty.  The values are refused before any data is read.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from support import REPO_ROOT, assert_one_line_error, fork_run

# row name -> (flags, texts the one line holds)
ROWS: dict[str, tuple[list[str], list[str]]] = {
    "augment-unknown": (
        ["--augment", "mixup"],
        ["--augment", "invalid choice: 'mixup'", "none", "flip", "crop_flip", "crop_flip_erase"],
    ),
    "label-smoothing-one": (["--label-smoothing", "1"], ["label_smoothing must be in [0, 1), got 1.0"]),
    "label-smoothing-negative": (["--label-smoothing", "-0.1"], ["label_smoothing must be in [0, 1), got -0.1"]),
    "width-zero": (["--width", "0"], ["width must be a number > 0, got 0.0"]),
    "width-negative": (["--width", "-2"], ["width must be a number > 0, got -2.0"]),
    "width-not-a-number": (["--width", "wide"], ["--width", "invalid float value: 'wide'"]),
    "width-nan": (["--width", "nan"], ["width must be a number > 0, got nan"]),
    "neuron-unknown": (["--neuron", "izhikevich"], ["--neuron", "invalid choice: 'izhikevich'", "lif", "plif"]),
    "tta-unknown": (["--tta", "rotate"], ["--tta", "invalid choice: 'rotate'", "none", "flip"]),
    "alpha-zero": (["--alpha", "0"], ["alpha must be a number > 0", "got 0.0"]),
    "alpha-negative": (["--alpha", "-1.5"], ["alpha must be a number > 0", "got -1.5"]),
}


@pytest.mark.parametrize("row", list(ROWS))
def test_bad_training_setting(row: str, tmp_path: Path) -> None:
    flags, says = ROWS[row]
    result = fork_run("search.train", "--epochs", "1", *flags, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    line = assert_one_line_error(result.stderr, starts_with="")
    assert line.startswith(("error:", "python -m search.train: error:")), line
    for text in says:
        assert text in line, line
    assert list(tmp_path.iterdir()) == [], "the failing command created files"


def test_the_error_table_lists_every_training_row() -> None:
    doc = (REPO_ROOT / "docs" / "errors.md").read_text()
    for name in ROWS:
        assert f"`{name}`" in doc, f"docs/errors.md has no row {name}"
