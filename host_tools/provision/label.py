"""The unit's label: its device id as text and as a QR code (PNG for the printer, terminal)."""

import io

import segno

#: What the QR code holds: the scheme says what the id is to a phone or scanner.
PREFIX = "fieldcheck:device:"


def qr(device_id: str) -> segno.QRCode:
    """The QR code of a device id (error correction M: a scuffed sticker still reads)."""
    return segno.make(PREFIX + device_id, error="m")


def png(device_id: str) -> bytes:
    """The label's QR code as PNG bytes (the same id always gives the same bytes)."""
    out = io.BytesIO()
    qr(device_id).save(out, kind="png", scale=8, border=4)
    return out.getvalue()


def terminal(device_id: str) -> str:
    """The QR code drawn with block characters, for the terminal."""
    out = io.StringIO()
    qr(device_id).terminal(out=out, compact=True)
    return out.getvalue()
