"""ROC curves drawn with Pillow alone (a device has no matplotlib)."""

from collections.abc import Mapping, Sequence
from pathlib import Path

from PIL import Image, ImageDraw

_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b")
_SIZE, _MARGIN = 480, 56


def roc_png(curves: Mapping[str, Sequence[tuple[float, float]]], path: Path, title: str) -> None:
    """Write one ROC curve (false match rate vs true match rate) per group to a PNG."""
    image = Image.new("RGB", (_SIZE + 2 * _MARGIN, _SIZE + 2 * _MARGIN), "white")
    draw = ImageDraw.Draw(image)
    _axes(draw, title)
    for index, (name, points) in enumerate(curves.items()):
        colour = _COLOURS[index % len(_COLOURS)]
        xy = [_to_px(0.0, 0.0)] + [_to_px(x, y) for x, y in points] + [_to_px(1.0, 1.0)]
        draw.line(xy, fill=colour, width=2)
        draw.text((_MARGIN + 10, _MARGIN + 10 + 14 * index), name or "all", fill=colour)
    image.save(path, format="PNG")


def _to_px(x: float, y: float) -> tuple[float, float]:
    return _MARGIN + x * _SIZE, _MARGIN + (1.0 - y) * _SIZE


def _axes(draw: ImageDraw.ImageDraw, title: str) -> None:
    left, top = _MARGIN, _MARGIN
    right, bottom = _MARGIN + _SIZE, _MARGIN + _SIZE
    draw.rectangle((left, top, right, bottom), outline="black")
    draw.line([_to_px(0, 0), _to_px(1, 1)], fill="#cccccc")  # chance
    for tick in range(0, 11, 2):
        value = tick / 10
        x, y = _to_px(value, value)
        draw.line((x, bottom, x, bottom + 4), fill="black")
        draw.line((left - 4, y, left, y), fill="black")
        draw.text((x - 8, bottom + 6), f"{value:.1f}", fill="black")
        draw.text((left - 28, y - 6), f"{value:.1f}", fill="black")
    draw.text((left, bottom + 24), "false match rate", fill="black")
    draw.text((left, 8), title, fill="black")
    draw.text((left, 24), "true match rate (1 - FNMR)", fill="black")
