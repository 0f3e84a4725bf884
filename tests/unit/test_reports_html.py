"""HTML export: one self-contained file, lines cut to the budget, and XSS attempts inert everywhere."""

from __future__ import annotations

import html.parser
import json
import re
from pathlib import Path

import pytest

import jupyter_tracker as jt
import jupyter_tracker.reports as wr
from jupyter_tracker.api import Api
from jupyter_tracker.reports.html import script_json
from jupyter_tracker.reports.markdown_text import render_markdown

ATTACK = '<script>alert(1)</script><img src=x onerror="alert(2)">"\'</textarea>'
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


class Elements(html.parser.HTMLParser):
    """Every start tag with its attributes, and the text of each script."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self.scripts.append(dict(attrs))


def parse(document: str) -> Elements:
    elements = Elements()
    elements.feed(document)
    return elements


def assert_inert(document: str) -> None:
    elements = parse(document)
    executable = [attrs for attrs in elements.scripts if attrs.get("type") != "application/json"]
    assert len(executable) == 1 and executable[0] == {}, "only the report's own chart script may run"
    for tag, attrs in elements.tags:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        for name in ("href", "src", "action", "formaction"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("javascript:", "vbscript:", "data:text")), (tag, attrs)
        assert tag not in ("iframe", "object", "embed", "textarea", "style") or tag == "style"
    for data in re.findall(r'<script type="application/json" class="jt-data">(.*?)</script>', document, re.S):
        json.loads(data)


@pytest.fixture()
def hostile_store(store_root: Path) -> Api:
    for index in range(3):
        run = jt.init(project="xss", mode="offline", name=f"{ATTACK}-{index}", tags=[ATTACK],
                      config={ATTACK: ATTACK, "lr": 0.1 * (index + 1), "opt": ATTACK if index else "plain"},
                      group=ATTACK)
        for step in range(20):
            run.log({"loss": 1.0 / (step + 1) + index, f"m{ATTACK}": step})
        run.summary["acc"] = 0.5 + index / 10
        run.finish(quiet=True)
    return Api()


def hostile_report() -> wr.Report:
    return wr.Report("xss", title=ATTACK, description=f"[click](javascript:alert(3)) {ATTACK}", blocks=[
        wr.H1(ATTACK), wr.P(f"[x](javascript:alert(4)) [y](JaVaScRiPt:alert(5)) ![i](javascript:alert(6)) {ATTACK}"),
        wr.MarkdownBlock(f"# t\n\n<div onclick='alert(7)'>hi</div>\n\n[d](data:text/html,<script>alert(8)</script>)\n\n{ATTACK}"),
        wr.CodeBlock(code=ATTACK, language=ATTACK), wr.BlockQuote(ATTACK), wr.UnorderedList([ATTACK]),
        wr.OrderedList([ATTACK]), wr.Image(url="javascript:alert(9)", caption=ATTACK), wr.TableOfContents(),
        wr.PanelGrid(runsets=[wr.Runset(name=ATTACK, filters="lr > 0")], panels=[
            wr.LinePlot(title=ATTACK, y=["loss", f"m{ATTACK}"], smoothing_factor=0.5),
            wr.LinePlot(y=["loss"], groupby="group"),
            wr.ScatterPlot(x="config.lr", y="summary.acc", z=f"config.{ATTACK}"),
            wr.ParallelCoordinatesPlot(columns=["lr", "opt", f"config.{ATTACK}"]),
            wr.BarPlot(metrics=["summary.acc"], groupby="opt"), wr.BarPlot(metrics=["summary.acc"]),
            wr.RunComparer(), wr.ScalarChart(metric="acc"), wr.MarkdownPanel(ATTACK),
            wr.ParameterImportancePlot(with_respect_to="summary.acc"),
        ]),
        wr.PanelGrid(runsets=[wr.Runset(filters=f"name == '{ATTACK}'")], panels=[wr.RunComparer()]),
    ])


def test_xss_attempts_in_markdown_names_tags_and_config_are_inert(hostile_store: Api, tmp_path: Path) -> None:
    document = hostile_report().to_html(tmp_path / "report.html", api=hostile_store)
    assert (tmp_path / "report.html").read_text(encoding="utf-8") == document
    assert_inert(document)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in document  # shown as text
    assert not re.search(r"(href|src)\s*=\s*[\"']?\s*javascript", document, re.IGNORECASE)
    assert document.count("uPlot") >= 1 and document.count('class="jt-line-plot"') == 2


def test_markdown_renders_and_drops_unsafe_links() -> None:
    rendered = render_markdown("**b** [ok](https://example.org) [bad](javascript:alert(1)) [rel](./x.html) <b>raw</b>")
    assert '<strong>b</strong>' in rendered and 'href="https://example.org"' in rendered and 'href="./x.html"' in rendered
    assert "href=\"javascript" not in rendered and "&lt;b&gt;raw&lt;/b&gt;" in rendered


def test_script_json_cannot_close_its_tag() -> None:
    text = script_json({"name": "</script><script>alert(1)</script>", "amp": "&", "line": "\u2028"})
    assert "</" not in text and "<" not in text and json.loads(text)["name"].startswith("</script>")


def test_export_is_self_contained_with_images_embedded(store_root: Path, tmp_path: Path) -> None:
    image = tmp_path / "figure.png"
    image.write_bytes(PNG)
    run = jt.init(project="img", mode="offline", name="one")
    for step in range(5):
        run.log({"loss": float(step)})
    run.finish(quiet=True)
    report = wr.Report("img", title="Images", blocks=[
        wr.Image(url=str(image), caption="local"), wr.Image(url="https://example.org/x.png", caption="remote link"),
        wr.PanelGrid(panels=[wr.LinePlot(y=["loss"])]),
    ])
    document = report.to_html(tmp_path / "out.html", api=Api())
    assert "data:image/png;base64," in document
    sources = [attrs.get("src") for tag, attrs in parse(document).tags if tag in ("script", "link", "img")]
    assert [source for source in sources if source and not source.startswith("data:")] == ["https://example.org/x.png"]
    assert "<link" not in document


def test_an_image_block_can_show_a_runs_logged_media_file(store_root: Path, tmp_path: Path) -> None:
    import numpy as np

    run = jt.init(project="media-block", mode="offline", name="pictures")
    run.log({"examples": jt.Image(np.full((3, 3, 3), 120, dtype=np.uint8))})
    run.finish(quiet=True)
    api = Api()
    (row,) = list(api.run(f"media-block/{run.id}").scan_history(keys=["examples"]))
    path = row["examples"]["path"]
    document = wr.Report("media-block", blocks=[wr.Image(url=f"{run.id}:{path}", caption="logged")]).to_html(api=api)
    assert '<figure class="jt-image"><img src="data:image/png;base64,' in document
