"""Markdown to HTML for reports, with markdown-it-py: no raw HTML, only safe link targets.

Raw HTML in the text is shown as text (``html`` off), and a link or image may point only at
``http(s)``, ``mailto``, a page anchor or a relative path (images may also be embedded
``data:image/png|jpeg|gif|webp``). Everything else (``javascript:``, ``vbscript:``, ``file:``,
``data:text/html``) is left unlinked, so report text can never run script.

>>> render_markdown("**bold** <script>x</script> [a](javascript:alert(1))")
'<p><strong>bold</strong> &lt;script&gt;x&lt;/script&gt; [a](javascript:alert(1))</p>\\n'
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_SAFE_LINK = re.compile(r"^(https?:|mailto:|#|/|\./|\.\./|[^:/?#]+($|[/?#]))", re.IGNORECASE)
_SAFE_IMAGE_DATA = re.compile(r"^data:image/(png|jpeg|gif|webp);", re.IGNORECASE)


def safe_url(url: str, image: bool = False) -> bool:
    """Whether ``url`` may be a link (or, with ``image``, an image source) in a report."""
    text = url.strip()
    if image and _SAFE_IMAGE_DATA.match(text):
        return True
    return bool(_SAFE_LINK.match(text)) and not text.lower().startswith(("javascript", "vbscript", "data"))


@lru_cache(maxsize=1)
def _renderer() -> Any:
    from markdown_it import MarkdownIt

    renderer = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    renderer.enable("table").enable("strikethrough")
    renderer.validateLink = lambda url: safe_url(url, image=True)  # type: ignore[method-assign]
    return renderer


def render_markdown(text: str) -> str:
    """Block markdown (paragraphs, lists, code, tables) as safe HTML."""
    return str(_renderer().render(text or ""))


def render_inline(text: str) -> str:
    """Inline markdown (emphasis, code, links) as safe HTML, without a wrapping paragraph."""
    return str(_renderer().renderInline(text or ""))
