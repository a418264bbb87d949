"""Receiver backup power between wakes: the standby command and the bytes that wake it again.

Between the wakes of a duty-cycled unit the receiver keeps its almanac, ephemeris and RTC in its
backup domain, so the next fix is a hot start (seconds instead of half a minute). The daemon
asks the GPS source for it when it ends a wake (:meth:`firmware.gps.base.GpsSource.standby`).

* ``ubx``: UBX-RXM-PMREQ (class 0x02, id 0x41), the 16-byte version: duration 0 (until woken),
  flags ``backup | force``, wake-up source UART RX. Any byte on the receiver's RX line wakes it.
* ``mtk``: ``$PMTK161,0`` (standby; MediaTek/Quectel L80/L86 class). Any byte wakes it.
* ``none``: nothing is sent (a receiver without such a command, or one on its own supply).
"""

import struct
from typing import Literal

from firmware.core.nmea import build_sentence

StandbyKind = Literal["none", "ubx", "mtk"]

UBX_SYNC = b"\xb5\x62"
UBX_RXM_PMREQ = (0x02, 0x41)
PMREQ_FLAG_BACKUP = 0x02
PMREQ_FLAG_FORCE = 0x04
PMREQ_WAKE_UARTRX = 0x08
#: Sent at start to a receiver that may be in backup power: a few bytes of idle line noise.
#: The receiver needs a moment after the first edge; what it misses of them is harmless.
WAKE_BYTES = b"\xff" * 8


def ubx_frame(msg_class: int, msg_id: int, payload: bytes) -> bytes:
    """A UBX frame: sync, class, id, little-endian length, payload, 8-bit Fletcher checksum."""
    body = struct.pack("<BBH", msg_class, msg_id, len(payload)) + payload
    ck_a = ck_b = 0
    for byte in body:
        ck_a = (ck_a + byte) & 0xFF
        ck_b = (ck_b + ck_a) & 0xFF
    return UBX_SYNC + body + bytes((ck_a, ck_b))


def standby_command(kind: StandbyKind) -> bytes:
    """The bytes that put a receiver of ``kind`` in backup power (b"" for ``none``)."""
    if kind == "ubx":
        payload = struct.pack("<B3xIII", 0, 0, PMREQ_FLAG_BACKUP | PMREQ_FLAG_FORCE,
                              PMREQ_WAKE_UARTRX)
        return ubx_frame(*UBX_RXM_PMREQ, payload)
    if kind == "mtk":
        return build_sentence("PMTK161,0").encode("ascii")
    return b""


def wake_bytes(kind: StandbyKind) -> bytes:
    """What to send at start so a receiver left in backup power wakes up (b"" for ``none``)."""
    return WAKE_BYTES if kind != "none" else b""
