"""Every relative link in the README and docs/ points at a file that exists, and every
anchor at a heading of its page: the scoreboard's history moved from the README to
docs/scoreboard.md (issue #16, session 39), and a moved section must not leave links that
lead nowhere."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
#: [text](target), images too; a target with a scheme (https:, mailto:) is not checked.
LINK = re.compile(r"\]\(([^()\s]+)\)")
SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
CODE_SPAN = re.compile(r"`[^`\n]*`")
#: A docs page's copy of a README section (between `<!-- README: ... -->` and
#: `<!-- /README -->`) is written for the README's folder; it is checked there.
README_BLOCK = re.compile(r"^<!-- README:.*?^<!-- /README -->", re.M | re.S)


def heading_anchor(title: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def links(page: Path) -> list[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    if page.name != "README.md":
        text = README_BLOCK.sub("", text)
    return LINK.findall(CODE_SPAN.sub("", text))


@cache
def anchors(page: Path) -> frozenset[str]:
    """A page's heading anchors, read once however many links point at it."""
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return frozenset(heading_anchor(t) for t in re.findall(r"^#{1,6} (.+)$", text, re.M))


def broken_links(page: Path) -> list[str]:
    """The page's relative links whose file is missing, or whose anchor names no heading."""
    broken = []
    for target in links(page):
        if SCHEME.match(target):
            continue
        path, _, anchor = target.partition("#")
        goal = (page.parent / path).resolve() if path else page
        if not goal.exists() or (anchor and goal.suffix == ".md" and anchor not in anchors(goal)):
            broken.append(target)
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_leads_somewhere(page: Path) -> None:
    assert broken_links(page) == [], page.relative_to(REPO)


def test_a_missing_file_and_a_missing_heading_are_broken(tmp_path: Path) -> None:
    (tmp_path / "there.md").write_text("## What 10^8 plates cost\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# A title\n\n[ok](#a-title) [gone](missing.md) [bad](#nowhere) `[code](x.md)`\n"
        "[file](there.md#what-108-plates-cost) [old](there.md#what-10-8-plates-cost)\n"
        "[web](https://example.com/x)\n"
        "<!-- README: copy -->\n[readme's](docs/page.md)\n<!-- /README -->\n"
    )
    assert broken_links(page) == ["missing.md", "#nowhere", "there.md#what-10-8-plates-cost"]
    assert heading_anchor("Which data to train on") == "which-data-to-train-on"
