"""A reseller's primary colour: the pages draw buttons and links in it, with white text on it,
and the header in a darker shade. A colour too light for white text is refused."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
MIN_CONTRAST = 4.5  # WCAG AA for normal text


def _channels(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def _luminance(colour: str) -> float:
    def linear(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in _channels(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_with_white(colour: str) -> float:
    return 1.05 / (_luminance(colour) + 0.05)


def darker(colour: str, by: float = 0.35) -> str:
    """The header's shade: the colour mixed with black."""
    return "#" + "".join(f"{round(c * (1 - by)):02x}" for c in _channels(colour))


def validate_primary_colour(colour: str) -> str:
    """``colour`` as ``#rrggbb`` (lower case), or ValidationError if white text on it is hard to read."""
    colour = (colour or "").strip()
    if not HEX_COLOUR.match(colour):
        raise ValidationError("Use a colour such as #0f766e.", code="colour")
    colour = colour.lower()
    ratio = contrast_with_white(colour)
    if ratio < MIN_CONTRAST:
        raise ValidationError(
            "White text on %(colour)s is hard to read (contrast %(ratio).1f:1; %(min).1f:1 is needed): "
            "choose a darker shade.",
            code="contrast", params={"colour": colour, "ratio": ratio, "min": MIN_CONTRAST},
        )
    return colour
