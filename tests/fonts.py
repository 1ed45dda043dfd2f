"""The classroom readability check every figure test uses: each visible text of a figure's PNG is at least
MIN_TEXT_PX (14 px) tall, points x dpi / 72 (`rlhf_demo/ui/plots.py`)."""

from __future__ import annotations

from rlhf_demo.ui.plots import MIN_TEXT_PX, text_px


def texts_px(fig) -> list[tuple[str, float]]:
    """(text, height in px) of every visible, non-empty text of `fig` once drawn: titles, labels, ticks, legends."""
    fig.canvas.draw()
    return [(t.get_text(), text_px(t.get_fontsize(), fig.dpi))
            for t in fig.findobj(lambda a: hasattr(a, "get_fontsize") and hasattr(a, "get_text"))
            if t.get_text().strip() and t.get_visible()]


def assert_readable(fig, min_texts: int = 1) -> None:
    """At least `min_texts` texts, none under MIN_TEXT_PX (the message names the small ones)."""
    texts = texts_px(fig)
    assert len(texts) >= min_texts, f"{len(texts)} texts, expected at least {min_texts}"
    small = [(text, round(px, 1)) for text, px in texts if px < MIN_TEXT_PX]
    assert not small, small
