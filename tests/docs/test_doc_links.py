"""Every relative link in README.md and docs/ leads somewhere: to a file that exists and, with
``#anchor``, to a heading of that file as GitHub names it; so does every ``docs/PAGE.md#anchor``
that a command's help, a message or the Makefile names.  Pages move text between them (README's
history of rounds went to docs/results.md's log); a link left behind fails here."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from support import REPO_ROOT

PAGES = sorted([REPO_ROOT / "README.md", REPO_ROOT / "studies" / "README.md", *(REPO_ROOT / "docs").glob("*.md")])
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
CODE_REFERENCE = re.compile(r"docs/[\w-]+\.md#[\w-]+")
CODE = sorted([REPO_ROOT / "Makefile", *(REPO_ROOT / "search").rglob("*.py"), *(REPO_ROOT / "scripts").rglob("*")])
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")


def _prose(text: str) -> list[str]:
    """The page's lines outside fenced and indented code blocks (no link or heading lives there)."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced and not line.startswith("    "):
            lines.append(line)
    return lines


def github_anchor(heading: str) -> str:
    """The id GitHub gives a heading: lower case, punctuation dropped (``-`` and ``_`` kept), spaces to ``-``."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading keeps its text
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading's anchor on ``page``; a repeated heading gets ``-1``, ``-2``, ... as on GitHub."""
    seen: Counter[str] = Counter()
    out = set()
    for line in _prose(page.read_text()):
        if match := HEADING.match(line):
            slug = github_anchor(match.group(1))
            out.add(slug if not seen[slug] else f"{slug}-{seen[slug]}")
            seen[slug] += 1
    return out


def links(page: Path) -> list[str]:
    return [target for line in _prose(page.read_text()) for target in LINK.findall(line)]


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:, ...: not ours to check
            continue
        path_part, _, anchor = target.partition("#")
        linked = (page.parent / path_part).resolve() if path_part else page
        if not linked.exists():
            broken.append(f"{target} (no file {linked})")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target} (no heading with anchor #{anchor})")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_link_leads_to_a_file_and_heading(page: Path) -> None:
    assert broken_links(page) == []


def test_every_page_and_heading_the_code_names_exists() -> None:
    broken = []
    for source in (path for path in CODE if path.is_file()):
        for reference in CODE_REFERENCE.findall(source.read_text(errors="replace")):
            page, _, anchor = reference.partition("#")
            if not (REPO_ROOT / page).is_file() or anchor not in anchors(REPO_ROOT / page):
                broken.append(f"{source.relative_to(REPO_ROOT)}: {reference}")
    assert broken == []


def test_anchors_are_named_as_github_names_them() -> None:
    assert github_anchor("The neuron kernel: `--neuron-backend auto|cuda|triton|torch|fused`") == (
        "the-neuron-kernel---neuron-backend-autocudatritontorchfused"
    )
    assert github_anchor("2026-12-03 and -04: the first headline, under the defaults of 2026-12-03") == (
        "2026-12-03-and--04-the-first-headline-under-the-defaults-of-2026-12-03"
    )
