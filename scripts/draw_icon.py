#!/usr/bin/env python3
"""Draw ``src/templates/template_icon.png``: a red chat bubble with three white dots.

Our own drawing (no logo): a 48x48 RGBA PNG as the Controller shows template
icons, anti-aliased by 4x4 supersampling and written with zlib/struct only, so
the output is byte-for-byte the same on every machine and needs no Pillow.
"""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path
from typing import List, Tuple

SIZE = 48
SAMPLES = 4
RED = (226, 29, 56)
WHITE = (255, 255, 255)
ICON_PATH = (
    Path(__file__).resolve().parents[1] / "src" / "templates" / "template_icon.png"
)

Color = Tuple[int, int, int]


def in_bubble(x: float, y: float) -> bool:
    """Rounded rectangle body plus a tail at the lower left."""
    left, top, right, bottom, radius = 3.0, 5.0, 45.0, 35.0, 9.0
    cx = min(max(x, left + radius), right - radius)
    cy = min(max(y, top + radius), bottom - radius)
    if left <= x <= right and top <= y <= bottom:
        if (x - cx) ** 2 + (y - cy) ** 2 <= radius**2:
            return True
    return _in_triangle(x, y, (11.0, 33.0), (23.0, 33.0), (8.0, 44.0))


def _in_triangle(x, y, a, b, c) -> bool:
    def side(p, q):
        return (x - q[0]) * (p[1] - q[1]) - (p[0] - q[0]) * (y - q[1])

    d1, d2, d3 = side(a, b), side(b, c), side(c, a)
    negative = d1 < 0 or d2 < 0 or d3 < 0
    positive = d1 > 0 or d2 > 0 or d3 > 0
    return not (negative and positive)


def in_dot(x: float, y: float) -> bool:
    """Three 'typing' dots centred in the bubble."""
    return any((x - cx) ** 2 + (y - 20.0) ** 2 <= 3.6**2 for cx in (14.0, 24.0, 34.0))


def pixel(px: int, py: int) -> Tuple[int, int, int, int]:
    """Average the sub-samples of one pixel into premultiplied-free RGBA."""
    red = white = 0
    for sy in range(SAMPLES):
        for sx in range(SAMPLES):
            x = px + (sx + 0.5) / SAMPLES
            y = py + (sy + 0.5) / SAMPLES
            if in_bubble(x, y):
                if in_dot(x, y):
                    white += 1
                else:
                    red += 1
    covered = red + white
    if covered == 0:
        return (0, 0, 0, 0)
    rgb = [(RED[i] * red + WHITE[i] * white) // covered for i in range(3)]
    alpha = 255 * covered // (SAMPLES * SAMPLES)
    return (rgb[0], rgb[1], rgb[2], alpha)


def render() -> List[List[Tuple[int, int, int, int]]]:
    return [[pixel(x, y) for x in range(SIZE)] for y in range(SIZE)]


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def encode_png(rows) -> bytes:
    """Minimal PNG: IHDR (8-bit RGBA), one IDAT, IEND."""
    raw = b"".join(b"\x00" + bytes(c for px in row for c in px) for row in rows)
    header = struct.pack(">IIBBBBB", len(rows[0]), len(rows), 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ICON_PATH
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(encode_png(render()))
    print("wrote {}".format(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
