"""``Html``: an HTML fragment stored sanitised (no scripts, event handlers or ``javascript:`` links)."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Any

from jupyter_tracker.media._files import write_media
from jupyter_tracker.values import MediaValue

ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del", "details", "div",
    "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd",
    "li", "mark", "ol", "p", "pre", "q", "s", "small", "span", "strong", "sub", "summary", "sup", "table",
    "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
})
#: tags dropped together with everything inside them
DROPPED_WITH_CONTENT = frozenset({
    "script", "style", "iframe", "object", "embed", "noscript", "template", "frame", "frameset", "applet",
    "svg", "math", "head", "title",
})
_VOID_TAGS = frozenset({"br", "hr", "img", "col"})
_ATTRIBUTES = frozenset({"class", "id", "title", "style", "align", "width", "height", "colspan", "rowspan", "alt",
                         "href", "src", "open"})
_URL_ATTRIBUTES = frozenset({"href", "src"})
_SAFE_URL = re.compile(r"^(https?:|mailto:|#|/|\./|\.\./|data:image/(png|jpeg|gif|webp);base64,|[^:]*$)", re.IGNORECASE)
_UNSAFE_STYLE = re.compile(r"expression\s*\(|url\s*\(|javascript:|@import|behavior\s*:", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x20]+")


class _Sanitiser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._dropping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._dropping:
            if tag == self._dropping[-1] or tag in DROPPED_WITH_CONTENT:
                self._dropping.append(tag)
            return
        if tag in DROPPED_WITH_CONTENT:
            self._dropping.append(tag)
            return
        if tag not in ALLOWED_TAGS:
            return
        kept = "".join(f" {name}" if value is None else f' {name}="{html.escape(value, quote=True)}"'
                       for name, value in attrs if _attribute_allowed(tag, name, value))
        self.out.append(f"<{tag}{kept}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DROPPED_WITH_CONTENT and not self._dropping:
            return
        self.handle_starttag(tag, attrs)
        if tag in self._dropping[-1:]:
            self._dropping.pop()

    def handle_endtag(self, tag: str) -> None:
        if self._dropping:
            if tag == self._dropping[-1]:
                self._dropping.pop()
            return
        if tag in ALLOWED_TAGS and tag not in _VOID_TAGS:
            self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if not self._dropping:
            self.out.append(html.escape(data, quote=False))


def _attribute_allowed(tag: str, name: str, value: str | None) -> bool:
    if name.startswith("on") or name not in _ATTRIBUTES:
        return False
    if name in _URL_ATTRIBUTES:
        if (name == "href") != (tag == "a") and not (name == "src" and tag == "img"):
            return False
        return value is not None and bool(_SAFE_URL.match(_CONTROL.sub("", value)))
    if name == "style" and value is not None:
        return not _UNSAFE_STYLE.search(value)
    return True


def sanitise_html(text: str) -> str:
    """Keeps a safe subset of HTML: formatting, tables, links and images; drops scripts and handlers.

    >>> sanitise_html('<b onclick="x()">hi</b><script>alert(1)</script>')
    '<b>hi</b>'
    """
    parser = _Sanitiser()
    parser.feed(text)
    parser.close()
    return "".join(parser.out)


class Html(MediaValue):
    """An HTML fragment to log, sanitised now: ``run.log({"report": Html("<h2>epoch 3</h2>...")})``."""

    media_kind = "html"

    def __init__(self, data: str | Any, inject: bool = True) -> None:
        if hasattr(data, "read"):
            data = data.read()
        if isinstance(data, bytes):
            data = data.decode("utf-8", "replace")
        if not isinstance(data, str):
            raise TypeError(f"Html() takes a string or a readable text file, not {type(data).__name__}")
        self.html = sanitise_html(data)

    def encode(self, run_dir: Any) -> dict[str, Any]:
        path, digest = write_media(run_dir, "html", self.html.encode("utf-8"), ".html")
        return {"_type": "html-file", "path": path, "sha256": digest}

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return f"<Html {len(self.html)} characters>"
