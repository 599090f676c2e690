"""The invoice fonts: DejaVu Sans (regular and bold), registered once per process, lean.

reportlab embeds a *subset* of a TrueType font in each PDF: the glyphs the document uses,
plus some tables copied whole from the font file. With the shipped DejaVu files as they are
that subset was ~35 KB per face (~37 KB of a 45 KB invoice), for three reasons:

* reportlab's default ("ASCII readable") subset carries all 95 printable ASCII glyphs, used
  or not → we register with ``asciiReadable=False``: only the glyphs the invoice draws;
* the ``name`` table is copied whole, 15.6 KB of it the licence text → we keep name IDs 0–7
  (copyright, family, style, unique ID, full name, version, PostScript name, trademark), as
  font subsetters commonly do; the licence itself ships with the app (``resources/fonts``);
* TrueType hinting: per-glyph instructions are over half of each glyph's bytes and compress
  badly, plus the ``cvt``/``fpgm``/``prep`` programs → stripped. Hints only steer rasterising
  at small pixel sizes on screen; printing and the usual PDF viewers render the outlines,
  which are untouched.

The fonts are rewritten in memory when first registered (~50 ms once per process); the files
in ``resources/fonts`` stay the upstream DejaVu release. Unicode is kept as it was: every
character still maps to its glyph and the ToUnicode map (what ``pdftotext`` and copy/paste
read) is reportlab's.
"""
from __future__ import annotations

import io
import struct
import threading

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from opentrain_desk.resources import resource_path

__all__ = ["FONT_BOLD", "FONT_FILES", "FONT_REGULAR", "lean_truetype", "register_fonts"]

FONT_REGULAR = "OpenTrainDejaVuSans"
FONT_BOLD = "OpenTrainDejaVuSans-Bold"
FONT_FILES = {FONT_REGULAR: "DejaVuSans.ttf", FONT_BOLD: "DejaVuSans-Bold.ttf"}

_KEEP_NAME_IDS = range(8)
_HINT_TABLES = (b"cvt ", b"fpgm", b"prep", b"hdmx", b"LTSH", b"VDMX")

# composite glyph component flags (OpenType 'glyf')
_ARG_1_AND_2_ARE_WORDS = 0x0001
_WE_HAVE_A_SCALE = 0x0008
_MORE_COMPONENTS = 0x0020
_WE_HAVE_AN_X_AND_Y_SCALE = 0x0040
_WE_HAVE_A_TWO_BY_TWO = 0x0080
_WE_HAVE_INSTRUCTIONS = 0x0100

_lock = threading.Lock()


# --------------------------------------------------------------------------- sfnt tables


def _tables(data: bytes) -> dict[bytes, bytes]:
    version, count = struct.unpack_from(">IH", data, 0)
    if version not in (0x00010000, 0x74727565):
        raise ValueError("not a TrueType font")
    tables = {}
    for i in range(count):
        tag, _checksum, offset, length = struct.unpack_from(">4sIII", data, 12 + 16 * i)
        tables[tag] = data[offset:offset + length]
    return tables


def _checksum(data: bytes) -> int:
    padded = data + b"\0" * (-len(data) % 4)
    return sum(struct.unpack(f">{len(padded) // 4}I", padded)) & 0xFFFFFFFF


def _sfnt(tables: dict[bytes, bytes]) -> bytes:
    """A TrueType file from its tables (sorted directory, 4-byte aligned, checksums)."""
    tags = sorted(tables)
    count = len(tags)
    power = 1 << (count.bit_length() - 1)
    header = struct.pack(">IHHHH", 0x00010000, count, power * 16, power.bit_length() - 1,
                         count * 16 - power * 16)
    directory, body = [], []
    offset = 12 + 16 * count
    for tag in tags:
        data = tables[tag]
        if tag == b"head":  # checkSumAdjustment is computed over the whole file below
            data = data[:8] + b"\0\0\0\0" + data[12:]
            head_at = offset
        directory.append(struct.pack(">4sIII", tag, _checksum(data), offset, len(data)))
        padded = data + b"\0" * (-len(data) % 4)
        body.append(padded)
        offset += len(padded)
    font = bytearray(header + b"".join(directory) + b"".join(body))
    adjustment = (0xB1B0AFBA - _checksum(bytes(font))) & 0xFFFFFFFF
    struct.pack_into(">I", font, head_at + 8, adjustment)
    return bytes(font)


def _lean_name(name: bytes) -> bytes:
    """The ``name`` table with only the short identifying records (IDs 0–7)."""
    _format, count, storage = struct.unpack_from(">HHH", name, 0)
    records, strings = [], bytearray()
    for i in range(count):
        platform, encoding, language, name_id, length, offset = struct.unpack_from(
            ">6H", name, 6 + 12 * i)
        if name_id not in _KEEP_NAME_IDS:
            continue
        records.append((platform, encoding, language, name_id, length, len(strings)))
        strings += name[storage + offset:storage + offset + length]
    head = struct.pack(">HHH", 0, len(records), 6 + 12 * len(records))
    return head + b"".join(struct.pack(">6H", *r) for r in records) + bytes(strings)


def _dehinted_glyph(glyph: bytes) -> bytes:
    if len(glyph) < 10:
        return glyph  # empty glyph (space)
    contours = struct.unpack_from(">h", glyph, 0)[0]
    if contours >= 0:  # simple glyph: endPts, instructionLength, instructions, flags, coords
        at = 10 + 2 * contours
        skip = struct.unpack_from(">H", glyph, at)[0]
        return glyph[:at] + b"\0\0" + glyph[at + 2 + skip:]
    out = bytearray(glyph)
    at, flags = 10, _MORE_COMPONENTS
    while flags & _MORE_COMPONENTS:
        flags = struct.unpack_from(">H", out, at)[0]
        struct.pack_into(">H", out, at, flags & ~_WE_HAVE_INSTRUCTIONS)
        at += 4 + (4 if flags & _ARG_1_AND_2_ARE_WORDS else 2)
        if flags & _WE_HAVE_A_SCALE:
            at += 2
        elif flags & _WE_HAVE_AN_X_AND_Y_SCALE:
            at += 4
        elif flags & _WE_HAVE_A_TWO_BY_TWO:
            at += 8
    return bytes(out[:at])  # whatever followed the last component was its instructions


def _dehinted_glyf(tables: dict[bytes, bytes]) -> None:
    head, glyf, loca = tables[b"head"], tables[b"glyf"], tables[b"loca"]
    count = struct.unpack_from(">H", tables[b"maxp"], 4)[0]
    if struct.unpack_from(">h", head, 50)[0]:
        offsets = struct.unpack_from(f">{count + 1}I", loca)
    else:
        offsets = [2 * o for o in struct.unpack_from(f">{count + 1}H", loca)]
    parts, new_offsets, at = [], [], 0
    for start, end in zip(offsets, offsets[1:], strict=False):
        new_offsets.append(at)
        glyph = _dehinted_glyph(glyf[start:end])
        glyph += b"\0" * (-len(glyph) % 4)
        parts.append(glyph)
        at += len(glyph)
    new_offsets.append(at)
    tables[b"glyf"] = b"".join(parts)
    tables[b"loca"] = struct.pack(f">{count + 1}I", *new_offsets)
    tables[b"head"] = head[:50] + struct.pack(">h", 1) + head[52:]  # long loca offsets


def lean_truetype(data: bytes) -> bytes:
    """``data`` (a TrueType font file) without hinting and with a short ``name`` table."""
    tables = _tables(data)
    tables[b"name"] = _lean_name(tables[b"name"])
    _dehinted_glyf(tables)
    for tag in _HINT_TABLES:
        tables.pop(tag, None)
    return _sfnt(tables)


# --------------------------------------------------------------------------- registration


def _font(name: str, filename: str) -> TTFont:
    path = resource_path("fonts", filename)
    if not path.is_file():
        raise FileNotFoundError(f"Invoice font {filename} is missing; expected it at {path}.")
    stream = io.BytesIO(lean_truetype(path.read_bytes()))
    stream.name = str(path)  # reportlab names the font file object after it
    return TTFont(name, stream, asciiReadable=False)


_registered = False


def register_fonts() -> None:
    """Register both faces with reportlab (once per process; thread-safe)."""
    global _registered
    if _registered:
        return
    with _lock:
        if _registered:
            return
        for name, filename in FONT_FILES.items():
            pdfmetrics.registerFont(_font(name, filename))
        pdfmetrics.registerFontFamily(
            FONT_REGULAR, normal=FONT_REGULAR, bold=FONT_BOLD, italic=FONT_REGULAR,
            boldItalic=FONT_BOLD,
        )
        _registered = True
