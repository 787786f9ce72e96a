"""The digest chart: the wallet's last 30 days against equal weight, as a small PNG.

Speed matters (a digest per wallet per day; the benchmark renders 10,000 in under 30 s), so the
static parts — frame, gridlines, tick labels, title, legend — are drawn once per y-range by
matplotlib and cached as a pixel array; each chart only rasterises its two polylines with numpy and
encodes the PNG with zlib. Values are index levels (100 = the first day); the y-range is the
smallest preset that holds both lines. Plotting uses floats: pixels, never money.
"""

from __future__ import annotations

import io
import struct
import threading
import zlib
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

WIDTH, HEIGHT, DPI = 480, 240, 100
#: Half-ranges (in index points around 100) that the y-axis can show.
RANGES: tuple[float, ...] = (1.0, 2.5, 5.0, 10.0, 20.0, 50.0, 100.0)
WALLET_RGB = (31, 119, 180)
EQUAL_RGB = (255, 127, 14)
_lock = threading.Lock()  # matplotlib's pyplot-free API is still not thread-safe while drawing


@lru_cache(maxsize=len(RANGES))
def _template(half_range: float) -> tuple[NDArray[np.uint8], tuple[int, int, int, int]]:
    """Background pixels and the plot area (x0, y0, x1, y1 in pixels, y down) for a y-range."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with _lock:
        fig = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
        canvas = FigureCanvasAgg(fig)
        ax = fig.add_axes((0.11, 0.14, 0.86, 0.74))
        ax.set_xlim(0, 29)
        ax.set_ylim(100 - half_range, 100 + half_range)
        ax.set_xticks([0, 10, 20, 29], ["-29d", "-19d", "-9d", "today"], fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.grid(True, linewidth=0.4, alpha=0.5)
        ax.set_title("Last 30 days (index, 100 = start)", fontsize=8)
        ax.plot([], [], color=np.array(WALLET_RGB) / 255, label="your wallet")
        ax.plot([], [], color=np.array(EQUAL_RGB) / 255, label="equal weight")
        ax.legend(loc="upper left", fontsize=7, frameon=False)
        canvas.draw()
        pixels = np.asarray(canvas.buffer_rgba())[:, :, :3].copy()
        bbox = ax.get_window_extent()
    x0, x1 = round(bbox.x0), round(bbox.x1)
    y0, y1 = HEIGHT - round(bbox.y1), HEIGHT - round(bbox.y0)
    return pixels, (x0, y0, x1, y1)


def _half_range(values: NDArray[np.float64]) -> float:
    spread = float(np.max(np.abs(values - 100.0))) if values.size else 0.0
    for candidate in RANGES:
        if spread <= candidate * 0.95:
            return candidate
    return RANGES[-1]


def _draw_line(
    img: NDArray[np.uint8], xs: NDArray[np.float64], ys: NDArray[np.float64], rgb: tuple[int, int, int]
) -> None:
    """Rasterise a 2-pixel polyline by dense sampling of each segment (vectorised)."""
    if xs.size < 2:
        return
    steps = int(max(np.max(np.abs(np.diff(xs))), np.max(np.abs(np.diff(ys))), 1.0)) + 1
    t = np.linspace(0.0, 1.0, steps, endpoint=False)
    px = (xs[:-1, None] + np.diff(xs)[:, None] * t).ravel()
    py = (ys[:-1, None] + np.diff(ys)[:, None] * t).ravel()
    px = np.append(px, xs[-1]).round().astype(np.intp)
    py = np.append(py, ys[-1]).round().astype(np.intp)
    h, w = img.shape[:2]
    for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
        cx, cy = np.clip(px + dx, 0, w - 1), np.clip(py + dy, 0, h - 1)
        img[cy, cx] = rgb


def _png(img: NDArray[np.uint8]) -> bytes:
    """Encode an RGB array as PNG (filter 0 per row; zlib level 3 is fast and small enough)."""
    h, w = img.shape[:2]
    raw = np.empty((h, w * 3 + 1), dtype=np.uint8)
    raw[:, 0] = 0
    raw[:, 1:] = img.reshape(h, w * 3)
    out = io.BytesIO()
    out.write(b"\x89PNG\r\n\x1a\n")

    def chunk(kind: bytes, data: bytes) -> None:
        out.write(struct.pack(">I", len(data)) + kind + data)
        out.write(struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    chunk(b"IDAT", zlib.compress(raw.tobytes(), 3))
    chunk(b"IEND", b"")
    return out.getvalue()


def render_chart(wallet: Sequence[float], equal_weight: Sequence[float]) -> bytes:
    """PNG of two index series (same length, <= 30 points, oldest first)."""
    a = np.asarray(wallet, dtype=np.float64)
    b = np.asarray(equal_weight, dtype=np.float64)
    half = _half_range(np.concatenate([a, b]))
    background, (x0, y0, x1, y1) = _template(half)
    img = background.copy()
    lo, hi = 100.0 - half, 100.0 + half

    def to_px(series: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        n = series.size
        start = 29 - (n - 1)  # right-align: the last point is "today"
        xs = x0 + (np.arange(start, start + n) / 29.0) * (x1 - x0)
        ys = y1 - (np.clip(series, lo, hi) - lo) / (hi - lo) * (y1 - y0)
        return xs, ys

    _draw_line(img, *to_px(b), EQUAL_RGB)
    _draw_line(img, *to_px(a), WALLET_RGB)
    return _png(img)
