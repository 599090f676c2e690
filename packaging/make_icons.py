#!/usr/bin/env python3
"""Draw the OpenTrain Desk app icon and write every size the app and installers need.

    .venv/bin/python packaging/make_icons.py

Writes ``resources/icons/opentrain-desk-{16..1024}.png`` (high-DPI: 512 and 1024 are the
@2x variants of 256 and 512), ``opentrain-desk.ico`` (Windows, 16–256) and
``opentrain-desk.icns`` (macOS). Pure Pillow, deterministic: re-running gives the same files.

The picture: a blue rounded square with a rising path through three milestones, the last
one a green "paid" check — the product in one glance.
"""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "resources" / "icons"
NAME = "opentrain-desk"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
MASTER = 1024
SUPERSAMPLE = 4

TOP, BOTTOM = (0x3B, 0x82, 0xD6), (0x1F, 0x4E, 0x79)  # gradient, matches the PDF accent
PAID = (0x22, 0xC5, 0x5E)
WHITE = (255, 255, 255)


def _gradient(size: int) -> Image.Image:
    column = Image.new("RGB", (1, size))
    for y in range(size):
        t = y / (size - 1)
        shade = tuple(round(a + (b - a) * t) for a, b in zip(TOP, BOTTOM, strict=True))
        column.putpixel((0, y), shade)
    return column.resize((size, size))


def _rounded_mask(size: int, inset: float, radius: float) -> Image.Image:
    mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(mask).rounded_rectangle((inset, inset, size - inset, size - inset),
                                           radius=radius, fill=255)
    return mask


def draw_master() -> Image.Image:
    """The icon at MASTER px, drawn SUPERSAMPLE times larger and scaled down (anti-aliasing)."""
    s = MASTER * SUPERSAMPLE
    u = s / 100  # work in percent of the canvas
    canvas = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    canvas.paste(_gradient(s), (0, 0), _rounded_mask(s, 6 * u, 20 * u))
    draw = ImageDraw.Draw(canvas)
    points = [(28 * u, 70 * u), (48 * u, 52 * u), (70 * u, 32 * u)]
    draw.line(points, fill=WHITE + (235,), width=round(6 * u), joint="curve")
    for x, y in points[:2]:
        r = 7 * u
        draw.ellipse((x - r, y - r, x + r, y + r), fill=WHITE)
    x, y = points[2]
    r = 12 * u
    draw.ellipse((x - r - 2 * u, y - r - 2 * u, x + r + 2 * u, y + r + 2 * u), fill=WHITE)
    draw.ellipse((x - r, y - r, x + r, y + r), fill=PAID)
    check = [(x - 5.5 * u, y + 0.5 * u), (x - 1.5 * u, y + 4.5 * u), (x + 6 * u, y - 4.5 * u)]
    draw.line(check, fill=WHITE, width=round(3.2 * u), joint="curve")
    return canvas.resize((MASTER, MASTER), Image.Resampling.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    master = draw_master()
    for size in PNG_SIZES:
        image = master if size == MASTER else master.resize((size, size),
                                                            Image.Resampling.LANCZOS)
        image.save(OUT / f"{NAME}-{size}.png", optimize=True)
    master.save(OUT / f"{NAME}.ico", sizes=[(n, n) for n in ICO_SIZES])
    master.save(OUT / f"{NAME}.icns")
    print(f"wrote {len(PNG_SIZES)} PNGs, .ico and .icns to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
