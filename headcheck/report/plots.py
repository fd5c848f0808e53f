"""The report's figures, drawn with matplotlib's object API on the Agg canvas (no display, no
global pyplot state) and saved as PNG files next to the HTML."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..signals import COMPOSITED, REUSED, SYNTHETIC
from .dataset import PhotoRow
from .stats import FLAGGED, PrevalenceRow

FLAG_LABELS = (SYNTHETIC, COMPOSITED, REUSED)
COLOURS = {SYNTHETIC: "#7b3294", COMPOSITED: "#d95f02", REUSED: "#1b9e77", FLAGGED: "#404040",
           "none": "#9e9e9e"}
DPI = 110


def _save(fig: Figure, path: Path) -> str:
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    return path.name


def _errors(rows: list[PrevalenceRow], label: str) -> tuple[np.ndarray, np.ndarray]:
    share = np.array([r.by_label[label].share for r in rows])
    low = np.array([r.by_label[label].low for r in rows])
    high = np.array([r.by_label[label].high for r in rows])
    # Clipped at 0: floating-point rounding must not make an error bar negative.
    return share, np.clip(np.vstack([share - low, high - share]), 0, None)


def overall(row: PrevalenceRow, path: Path) -> str:
    labels = [*FLAG_LABELS, FLAGGED]
    fig = Figure(figsize=(6.5, 2.6))
    ax = fig.add_subplot()
    y = np.arange(len(labels))[::-1]
    for yi, label in zip(y, labels, strict=True):
        share, err = _errors([row], label)
        ax.barh(yi, share, color=COLOURS[label], alpha=0.85)
        ax.errorbar(share, [yi], xerr=err, fmt="none", ecolor="black", capsize=4, lw=1)
    ax.set_yticks(y, ["any flag" if lab == FLAGGED else lab for lab in labels])
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_xlabel(f"share of {row.n} photos (bars: Wilson 95% interval)")
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)


def by_site(rows: list[PrevalenceRow], path: Path) -> str:
    """Dot plot: one line per site, a dot and interval per label, offset to stay apart."""
    fig = Figure(figsize=(7.5, 0.42 * len(rows) + 1.4))
    ax = fig.add_subplot()
    y = np.arange(len(rows))[::-1]
    for i, label in enumerate(FLAG_LABELS):
        share, err = _errors(rows, label)
        ax.errorbar(share, y + (1 - i) * 0.22, xerr=err, fmt="o", ms=4, capsize=2, lw=1,
                    color=COLOURS[label], label=label)
    ax.set_yticks(y, [f"{r.group} (n={r.n})" for r in rows])
    ax.set_xlim(-0.02, 1.02)
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_xlabel("share of the site's photos (Wilson 95% interval)")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize="small", frameon=False,
              bbox_to_anchor=(1.0, 1.0), ncols=3)
    return _save(fig, path)


def series_offsets(months: int) -> list[float]:
    """Where each label's series sits beside a month: over few months side by side (dodged),
    since equal shares would otherwise share one point and hide one another."""
    step = 0.12 if months <= 3 else 0.0
    return [(i - (len(FLAG_LABELS) - 1) / 2) * step for i in range(len(FLAG_LABELS))]


def by_month(rows: list[PrevalenceRow], path: Path) -> str:
    """Share per label per month with its interval as a band; photos per month below."""
    fig = Figure(figsize=(7.5, 4.2))
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    x = np.arange(len(rows))
    for label, offset in zip(FLAG_LABELS, series_offsets(len(rows)), strict=True):
        share, err = _errors(rows, label)
        low = [r.by_label[label].low for r in rows]
        high = [r.by_label[label].high for r in rows]
        xs = x + offset
        top.plot(xs, share, marker="o", ms=4, color=COLOURS[label], label=label)
        top.fill_between(xs, low, high, color=COLOURS[label], alpha=0.12, lw=0)
        if len(rows) <= 3:  # a band over one or two months is too thin to see
            top.errorbar(xs, share, yerr=err, fmt="none", ecolor=COLOURS[label], capsize=3, lw=1)
    top.set_ylim(0, 1)
    top.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    top.set_ylabel("share (95% band)")
    top.grid(alpha=0.3)
    top.legend(fontsize="small", frameon=False, ncols=3, loc="upper left")
    bottom.bar(x, [r.n for r in rows], color=COLOURS["none"])
    bottom.set_ylabel("photos")
    bottom.set_xticks(x, [r.group for r in rows], rotation=45 if len(rows) > 8 else 0,
                      ha="right" if len(rows) > 8 else "center")
    bottom.set_xlabel("month first seen")
    if len(rows) == 1:
        top.set_xlim(-0.5, 0.5)
    return _save(fig, path)


def confidence(photos: list[PhotoRow], path: Path) -> str:
    """Histogram of confidence per label, on one scale, so cases near the floor stand out."""
    fig = Figure(figsize=(7.5, 4.6))
    axes = fig.subplots(len(FLAG_LABELS), 1, sharex=True)
    bins = np.linspace(0, 1, 41)
    for ax, label in zip(axes, FLAG_LABELS, strict=True):
        values = [p.confidence for p in photos if p.label == label]
        ax.hist(values, bins=bins, color=COLOURS[label])
        ax.set_ylabel(f"{label}\n(n={len(values)})", rotation=0, ha="right", va="center")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=3))
        ax.grid(axis="x", alpha=0.3)
    axes[-1].set_xlim(0, 1)
    axes[-1].set_xlabel("confidence (strength of the leading reason)")
    return _save(fig, path)

