"""One self-contained HTML page from a header and figure sections; plotly's JavaScript embedded once.

The page fetches nothing: it opens offline, from a file, on a machine without internet.
Each figure sits in a ``<section id=ANCHOR>`` with a ``<div id="fig-NAME">``; a section
whose figure the study cannot support yet holds a ``<p class="unavailable">`` instead.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field

import plotly.graph_objects as go
import plotly.offline

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; max-width: 1200px;
       padding: 0 24px 48px; color: #222; line-height: 1.45; }
h1 { margin-top: 28px; } h2 { margin-top: 40px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
table { border-collapse: collapse; margin: 8px 0 16px; } td, th { padding: 3px 12px 3px 0; text-align: left;
       vertical-align: top; } th { color: #555; font-weight: 600; }
code { background: #f3f3f3; padding: 1px 4px; border-radius: 3px; }
nav a { margin-right: 14px; white-space: nowrap; }
.explain { color: #444; max-width: 900px; }
.unavailable { background: #fff8e1; border-left: 4px solid #f0b400; padding: 10px 14px; max-width: 900px; }
.wide { overflow-x: auto; }
.muted { color: #777; font-size: 90%; }
"""


@dataclass
class Section:
    """A heading, a sentence saying how to read it, and its figures (or why there are none)."""

    anchor: str
    title: str
    explanation: str = ""
    figures: list[tuple[str, go.Figure]] = field(default_factory=list)  # (div id, figure)
    unavailable: str | None = None  # what the section cannot show yet (search.report lists these)
    caveat: str | None = None  # how to read what it shows (not something missing)
    wide: bool = False
    table_html: str = ""  # a table built by grid_table (escaped), shown before the figures


def facts_table(rows: Sequence[tuple[str, str]]) -> str:
    return (
        "<table>"
        + "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
        + "</table>"
    )


def grid_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def render_section(section: Section) -> str:
    parts = [f'<section id="{section.anchor}">', f"<h2>{html.escape(section.title)}</h2>"]
    if section.explanation:
        parts.append(f'<p class="explain">{html.escape(section.explanation)}</p>')
    for note in (section.unavailable, section.caveat):
        if note is not None:
            parts.append(f'<p class="unavailable">{html.escape(note)}</p>')
    if section.table_html:
        parts.append(section.table_html)
    for div_id, figure in section.figures:
        div = figure.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=PLOTLY_CONFIG)
        parts.append(f'<div class="wide">{div}</div>' if section.wide else div)
    parts.append("</section>")
    return "\n".join(parts)


def render_page(title: str, header_html: str, sections: Sequence[Section], footer: str) -> str:
    nav = " ".join(f'<a href="#{s.anchor}">{html.escape(s.title)}</a>' for s in sections)
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{html.escape(title)}</title>",
            f"<style>{STYLE}</style>",
            # plotly.js, once, inline: the page works offline.
            f'<script type="text/javascript">{plotly.offline.get_plotlyjs()}</script>',
            "</head><body>",
            f"<h1>{html.escape(title)}</h1>",
            header_html,
            f"<nav>{nav}</nav>",
            *(render_section(s) for s in sections),
            f'<p class="muted">{html.escape(footer)}</p>',
            "</body></html>",
        ]
    )
