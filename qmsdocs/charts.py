"""PNG charts of the self-assessment: a maturity radar per clause group and a bar chart of gaps.

The charts print well in grey-scale (line styles, markers and hatching carry the meaning, not colour)
and are byte-for-byte reproducible: fixed size, dpi and fonts, matplotlib's default style whatever the
user's matplotlibrc says, and no "Software" or date metadata in the PNG. matplotlib is imported only
inside the drawing functions, so importing this module (and ``qmsdocs --help``) stays fast. Each chart
is drawn at most once per content: the drawing functions are cached on their (hashable) input.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qmsdocs.maturity import Assessment

#: Chart kinds a template can ask for, with the alternative text of the image.
KINDS: dict[str, str] = {
    "radar": "Maturity radar: current and target level per ISO 9004 clause group",
    "gaps": "Gap to target per ISO 9004 element",
}

_SIZE = (7.0, 6.0)  # inches; 15 cm wide in the documents
_DPI = 150
_IMPORTANCE_HATCH = {1: "", 2: "//", 3: "xx"}
_IMPORTANCE_NAME = {1: "low importance", 2: "medium importance", 3: "high importance"}

RadarData = tuple[tuple[str, float, float], ...]  # (group label, mean level, mean target)
GapData = tuple[tuple[str, int, int], ...]  # (element label, gap, importance)


def _style() -> Any:
    """A context with matplotlib's built-in defaults and a bundled font, independent of user settings."""
    import matplotlib

    matplotlib.use("Agg", force=False)  # no display needed; harmless if already set
    rc = dict(matplotlib.rcParamsDefault)
    rc.pop("backend", None)
    rc.update(
        {
            "font.family": "DejaVu Sans",
            "font.size": 9,
            "svg.hashsalt": "qmsdocs",
            "path.simplify": True,
            "savefig.dpi": _DPI,
            "figure.dpi": _DPI,
        }
    )
    return matplotlib.rc_context(rc)


def _png(figure: Any) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
    return buffer.getvalue()


@lru_cache(maxsize=32)
def radar_png(groups: RadarData) -> bytes:
    """A radar chart of current (solid, filled) and target (dashed) mean maturity per clause group."""
    from matplotlib.figure import Figure

    with _style():
        figure = Figure(figsize=_SIZE)
        axes: Any = figure.add_subplot(projection="polar")  # PolarAxes; typed as plain Axes
        count = len(groups)
        angles = [2 * math.pi * i / count for i in range(count)]
        closed = [*angles, angles[0]]
        current = [g[1] for g in groups]
        target = [g[2] for g in groups]
        axes.plot(
            closed,
            [*current, current[0]],
            color="black",
            linestyle="-",
            linewidth=2,
            marker="o",
            label="Current level",
        )
        axes.fill(closed, [*current, current[0]], color="0.6", alpha=0.35)
        axes.plot(
            closed,
            [*target, target[0]],
            color="0.35",
            linestyle="--",
            linewidth=1.6,
            marker="s",
            label="Target level",
        )
        axes.set_theta_offset(math.pi / 2)
        axes.set_theta_direction(-1)
        axes.set_xticks(angles)
        axes.set_xticklabels([textwrap.fill(g[0], 18) for g in groups])
        axes.tick_params(axis="x", pad=20)
        axes.set_ylim(0, 5)
        axes.set_yticks([1, 2, 3, 4, 5])
        axes.set_yticklabels(["1", "2", "3", "4", "5"], color="0.3")
        axes.grid(color="0.75", linestyle=":")
        axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=2, frameon=False)
        # polar axes and tight_layout do not mix well: fixed margins leave room for the wrapped labels
        figure.subplots_adjust(left=0.17, right=0.83, top=0.86, bottom=0.15)
        return _png(figure)


@lru_cache(maxsize=32)
def gaps_png(elements: GapData) -> bytes:
    """A horizontal bar chart of the gap to target per element, hatched by importance."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    with _style():
        height = max(3.0, 0.28 * len(elements) + 1.4)
        figure = Figure(figsize=(_SIZE[0], height))
        axes = figure.add_subplot()
        rows = list(range(len(elements)))[::-1]  # first element at the top
        for row, (_, gap, importance) in zip(rows, elements, strict=True):
            axes.barh(
                row, gap, color="0.85", edgecolor="black", hatch=_IMPORTANCE_HATCH[importance], height=0.7
            )
            axes.text(gap + 0.05, row, str(gap), va="center", fontsize=8)
        axes.set_yticks(rows)
        axes.set_yticklabels([label for label, _, _ in elements], fontsize=8)
        axes.set_xlim(0, 4.5)
        axes.set_xticks([0, 1, 2, 3, 4])
        axes.set_xlabel("Gap to target (levels)")
        axes.grid(axis="x", color="0.8", linestyle=":")
        axes.set_axisbelow(True)
        used = sorted({importance for _, _, importance in elements})
        axes.legend(
            handles=[
                Patch(
                    facecolor="0.85", edgecolor="black", hatch=_IMPORTANCE_HATCH[i], label=_IMPORTANCE_NAME[i]
                )
                for i in used
            ],
            loc="lower right",
            frameon=True,
        )
        figure.tight_layout()
        return _png(figure)


def radar_data(assessment: Assessment) -> RadarData:
    """The radar's input: one point per clause group with at least one rated element."""
    return tuple(
        (f"{g.group} {g.title}".replace(" of an organization", ""), g.mean_level, g.mean_target)
        for g in assessment.assessed_groups
    )


def gap_data(assessment: Assessment) -> GapData:
    """The bar chart's input: every rated element in clause order."""
    return tuple((f"{e.clause} {e.title}", e.gap, e.importance) for e in assessment.elements)


_DRAW: dict[str, Callable[[Assessment], bytes]] = {
    "radar": lambda a: radar_png(radar_data(a)),
    "gaps": lambda a: gaps_png(gap_data(a)),
}


def draw(kind: str, assessment: Assessment) -> bytes:
    """The PNG bytes of chart *kind* ("radar" or "gaps"); ValueError for another kind."""
    if kind not in _DRAW:
        raise ValueError(f"unknown chart '{kind}'; charts: {', '.join(KINDS)}")
    return _DRAW[kind](assessment)
