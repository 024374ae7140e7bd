"""What a logo upload may be: a small PNG, JPEG, GIF or WebP image, recognised by its bytes.

The type is read from the file's first bytes, never from its name or the browser's
Content-Type, and the logo is served with that type only (plus ``nosniff`` and a CSP
that runs nothing). SVG is refused: it is a document that can carry scripts.
"""

from __future__ import annotations

import struct

from django.core.exceptions import ValidationError

MAX_LOGO_BYTES = 200 * 1024
MAX_LOGO_SIDE = 2000  # pixels


def _png_size(data: bytes) -> tuple[int, int] | None:
    if len(data) >= 24 and data[12:16] == b"IHDR":
        return struct.unpack(">II", data[16:24])
    return None


def _gif_size(data: bytes) -> tuple[int, int] | None:
    return struct.unpack("<HH", data[6:10]) if len(data) >= 10 else None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """The frame size from the first start-of-frame marker."""
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        i += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30:
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None


# (content type, extension, how its first bytes start, how its size is read)
FORMATS = [
    ("image/png", "png", lambda d: d.startswith(b"\x89PNG\r\n\x1a\n"), _png_size),
    ("image/jpeg", "jpg", lambda d: d.startswith(b"\xff\xd8\xff"), _jpeg_size),
    ("image/gif", "gif", lambda d: d[:6] in (b"GIF87a", b"GIF89a"), _gif_size),
    ("image/webp", "webp", lambda d: d[:4] == b"RIFF" and d[8:12] == b"WEBP", _webp_size),
]


def logo_type(data: bytes) -> str:
    """The content type of an acceptable logo, or ValidationError saying what is wrong with it."""
    if not data:
        raise ValidationError("The file is empty.", code="empty")
    if len(data) > MAX_LOGO_BYTES:
        raise ValidationError(
            "The logo is %(size)d KB; at most %(max)d KB, please (a logo shows at most 40 pixels high).",
            code="too_big", params={"size": len(data) // 1024, "max": MAX_LOGO_BYTES // 1024},
        )
    head = data[:512].lstrip().lower()
    if head.startswith((b"<?xml", b"<svg", b"<!doctype", b"<html")) or b"<svg" in head:
        raise ValidationError("SVG and other documents can carry scripts: upload a PNG, JPEG, GIF or WebP image.",
                              code="svg")
    for content_type, _extension, matches, size_of in FORMATS:
        if matches(data):
            size = size_of(data)
            if size is None or not all(0 < side for side in size):
                raise ValidationError("This image is damaged or unreadable: export it again as PNG.", code="damaged")
            if max(size) > MAX_LOGO_SIDE:
                raise ValidationError("The image is %(w)d × %(h)d pixels; at most %(max)d on each side, please.",
                                      code="too_large", params={"w": size[0], "h": size[1], "max": MAX_LOGO_SIDE})
            return content_type
    raise ValidationError("This is not a PNG, JPEG, GIF or WebP image.", code="type")


def extension_of(content_type: str) -> str:
    return next((extension for kind, extension, _, _ in FORMATS if kind == content_type), "bin")
