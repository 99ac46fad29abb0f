"""Layout checks for figures, by matplotlib's own bounding boxes as drawn: legends off the axes,
no text on other text (titles, axis labels, tick labels), everything inside the saved image."""

from __future__ import annotations

import pytest


@pytest.fixture
def drawn(monkeypatch):
    """Every figure saved while the test runs, in order."""
    from matplotlib.figure import Figure

    figures, savefig = [], Figure.savefig

    def recording(self, *args, **kwargs):
        figures.append(self)
        return savefig(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", recording)
    return figures


def _texts(fig) -> list[tuple[str, object]]:
    texts = []
    if getattr(fig, "_suptitle", None) is not None:
        texts.append(("suptitle", fig._suptitle))
    for i, ax in enumerate(a for a in fig.axes if a.get_visible()):
        for name, text in (("title", ax.title), ("xlabel", ax.xaxis.label), ("ylabel", ax.yaxis.label)):
            texts.append((f"axes {i} {name}", text))
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            slack = (high - low) * 1e-6
            texts.extend((f"axes {i} tick {tick.label1.get_text()!r}", tick.label1) for tick in axis.get_major_ticks()
                         if low - slack <= tick.get_loc() <= high + slack)  # ticks beyond the limits are not drawn
    return [(name, t) for name, t in texts if t.get_visible() and t.get_text().strip()]


def _overlap(a, b, tolerance: float = 1.0) -> bool:
    """More than ``tolerance`` pixels of overlap in both directions."""
    return min(a.x1, b.x1) - max(a.x0, b.x0) > tolerance and min(a.y1, b.y1) - max(a.y0, b.y0) > tolerance


def layout_problems(fig) -> list[str]:
    """Every legend that covers an axes or a text, and every two texts that overlap."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)  # saving closed the figure, which left it a canvas that cannot draw
    canvas.draw()
    renderer = canvas.get_renderer()
    axes = [ax for ax in fig.axes if ax.get_visible()]
    legends = list(fig.legends) + [ax.get_legend() for ax in axes if ax.get_legend() is not None]
    assert legends or len(axes) >= 1
    texts = [(name, text.get_window_extent(renderer)) for name, text in _texts(fig)]
    problems = []
    for legend in legends:
        box = legend.get_window_extent(renderer)
        for i, ax in enumerate(axes):
            if _overlap(box, ax.get_window_extent(renderer)):
                problems.append(f"legend {legend.get_title().get_text()!r} covers axes {i}")
        problems.extend(f"legend {legend.get_title().get_text()!r} covers {name}" for name, b in texts
                        if _overlap(box, b))
    for i, (name, box) in enumerate(texts):
        problems.extend(f"{name} overlaps {other}" for other, b in texts[i + 1:] if _overlap(box, b))
    return problems


def assert_reads_cleanly(fig) -> None:
    problems = layout_problems(fig)
    assert not problems, "\n".join(problems)
