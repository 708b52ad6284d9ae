"""QR codes for a room's links, drawn here as SVG (segno), never by an outside service."""

from __future__ import annotations

import io

import segno

# The page's ink (app.css's light-scheme --text) on white: a scanner wants dark on light,
# whichever colour scheme the page is in.
INK = "#1f1d1a"
PAPER = "#ffffff"
# About how wide the drawing is, in CSS pixels, quiet zone included.
TARGET_PIXELS = 200


def qr_svg(url: str) -> str:
    """An SVG document of a QR code for ``url``, about 200 px square, titled with the link."""
    # make_qr, not make: a Micro QR code (which segno picks for short text) is one most phones cannot read.
    code = segno.make_qr(url, error="m")
    # A whole number of pixels per module keeps the edges crisp.
    scale = max(1, round(TARGET_PIXELS / code.symbol_size(scale=1)[0]))
    out = io.BytesIO()
    code.save(out, kind="svg", xmldecl=False, scale=scale, dark=INK, light=PAPER, title=f"QR code for {url}")
    return out.getvalue().decode("utf-8")
