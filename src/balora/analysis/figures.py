"""What every balora figure is drawn with: pyplot (a clear error without the plots extra), a grid of
panels laid out so titles, tick labels and legends keep clear of each other, labels wrapped to a
width, and an atomic save. Comparison figures and `balora memory`'s plot both use it.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from balora.errors import UserError

LEGEND_WRAP = 38  # characters per legend line: long group labels wrap instead of widening the figure


def pyplot():
    """matplotlib.pyplot and seaborn, drawing to files only."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only; no display needed
        import matplotlib.pyplot as plt
        import seaborn as sns
    except ImportError:
        raise UserError("plots need matplotlib and seaborn: pip install 'balora[plots]'") from None
    sns.set_theme(style="whitegrid", context="notebook")
    return plt, sns


def figure(plt, width: float, height: float, **subplots):
    """A figure with a constrained layout, which (unlike tight_layout) makes room for a suptitle,
    colour bars and legends placed outside the axes."""
    return plt.subplots(figsize=(width, height), layout="constrained", squeeze=False, **subplots)


def grid(plt, panels: int, width: float, height: float, columns: int = 3):
    """``panels`` axes in rows of at most ``columns``, each about width x height inches."""
    columns = min(columns, panels)
    rows = math.ceil(panels / columns)
    fig, axes = figure(plt, width * columns, height * rows, nrows=rows, ncols=columns)
    for ax in axes.flat[panels:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:panels])


_BREAK_AFTER = re.compile(r"(?<=[ ,+/=])")  # where a label may break: after a space, comma, "+", "/" or "="


def wrap(text: str, width: int) -> str:
    """``text`` in lines of at most ``width`` characters, broken after spaces, commas, "+", "/" or
    "=" (never inside a name); a name longer than a line is cut only where nothing else would do."""
    width = max(width, 8)
    lines = []
    for paragraph in str(text).split("\n"):
        line = ""
        for piece in _BREAK_AFTER.split(paragraph):
            while len(piece) > 2 * width:  # a name far longer than a line: cut it
                if line.strip():
                    lines.append(line.rstrip())
                line, lines, piece = "", lines + [piece[:width]], piece[width:]
            if line and len(line.rstrip()) + len(piece.rstrip()) > width:
                lines.append(line.rstrip())
                line = ""
            line += piece if line else piece.lstrip()  # a line never starts with the space it broke at
        lines.append(line.rstrip())
    return "\n".join(lines)


def wrap_for(ax, text: str, fontsize: float = 10.0) -> str:
    """``text`` wrapped to the width of ``ax`` (about 0.6 em per character)."""
    inches = ax.get_position().width * ax.figure.get_figwidth()
    return wrap(text, int(inches * 72 / (0.6 * fontsize)))


def legend_outside(fig, handles, labels, title: str | None = None, where: str = "right", **options):
    """The figure's legend beside (``right``) or under (``below``) all its axes, never on the data;
    its entries wrapped so a long label adds lines rather than width. The figure's constrained
    layout makes room for it."""
    labels = [wrap(label, LEGEND_WRAP) for label in labels]
    options = {"fontsize": 8, "title_fontsize": 9, "frameon": True, **options}
    if where == "right":
        return fig.legend(handles, labels, loc="outside right center", title=title, **options)
    columns = max(1, min(len(labels), 3 if max(map(len, labels), default=0) <= LEGEND_WRAP // 2 else 2))
    return fig.legend(handles, labels, loc="outside lower center", title=title, ncol=columns, **options)


def no_offset(ax) -> None:
    """Tick labels as the values themselves: no "+8.2e1" offset, no scientific notation."""
    ax.ticklabel_format(axis="y", style="plain", useOffset=False)


def at_least_span(ax, span: float) -> None:
    """Widen the y-axis to show at least ``span``, so a difference far below what is meaningful
    (0.0002 of accuracy) does not fill the axis and read as a cliff."""
    low, high = ax.get_ylim()
    if high - low < span:
        middle = (low + high) / 2
        ax.set_ylim(middle - span / 2, middle + span / 2)


def save(fig, output: Path) -> Path:
    """Write ``fig`` to ``output`` atomically (a reader never sees half a PNG) and close it."""
    import matplotlib.pyplot as plt

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.stem}.tmp{output.suffix}")
    try:
        fig.savefig(tmp, dpi=120, bbox_inches="tight")
        tmp.replace(output)
    finally:
        tmp.unlink(missing_ok=True)
        plt.close(fig)  # a comparison draws many figures; pyplot would keep every one alive
    return output
