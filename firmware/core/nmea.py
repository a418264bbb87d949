"""NMEA 0183 checksum and sentence building, shared by the device reader and the simulator."""


def checksum(body: str) -> str:
    """XOR of the characters between ``$`` and ``*``, as two upper-case hex digits."""
    value = 0
    for char in body.encode("ascii"):
        value ^= char
    return f"{value:02X}"


def build_sentence(body: str) -> str:
    """``$body*CS\\r\\n`` for a body such as ``GPGGA,123519,...``."""
    return f"${body}*{checksum(body)}\r\n"
