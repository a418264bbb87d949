"""Whether bytes ARE the deterministic CBOR encoding of the value they decoded to, checked
without encoding the value again.

The reference test of a payload is ``cbor2.dumps(value, canonical=True) == data``. This module
answers the same question by walking the decoded value alongside the bytes it came from: at
every item it compares the first byte (major type and the size class of its argument) with the
one the deterministic encoding has, and steps over the item by its deterministic size. Map keys
are compared byte for byte, in deterministic order. The walk holds because an item whose first
byte is the deterministic one carries no tag, no longer argument and no other float width, and
its remaining bytes are then fixed by the decoded value: the argument is the value (an integer),
the length (a string: UTF-8 has one encoding per text) or the bits (a float of that width); so
every item is its deterministic encoding, and the last must end where the bytes end.

The rules, each as the deterministic encoding (cbor2 ``canonical=True``, RFC 8949 §4.2.1) has
them: shortest argument for integers and lengths; floats in the shortest of half, single and
double that holds the value exactly; map keys in length-first, then bytewise order; definite
lengths, no tags (a tag, a string reference or a shared value is refused, even where it decodes
to a plain value). Only what a record payload holds is walked (None, bool, int within 64 bits,
finite float, text, bytes, maps with text keys of at most 23 bytes); anything else answers False,
which sends a caller to the reference.
"""

import math
import struct
from functools import lru_cache
from typing import Any

__all__ = ["is_canonical"]

_HALF = struct.Struct(">e")
_SINGLE = struct.Struct(">f")
_NULL, _FALSE, _TRUE = 0xF6, 0xF4, 0xF5
_FLOAT16, _FLOAT32, _FLOAT64 = 0xF9, 0xFA, 0xFB
_UINT, _NINT, _BYTES, _TEXT, _MAP = 0x00, 0x20, 0x40, 0x60, 0xA0
_MAX_KEY = 23  # longer keys order differently under RFC 7049 and RFC 8949: never walked
_LIMIT = 2**64


def is_canonical(data: bytes, value: Any) -> bool:
    """True if ``data`` is exactly ``cbor2.dumps(value, canonical=True)`` for ``value`` as
    ``cbor2.loads(data)`` gave it; False otherwise (or for a value this module does not walk)."""
    try:
        return _end(data, 0, value) == len(data)
    except IndexError:  # a string reference is shorter than the string: the walk runs off
        return False


def _end(data: bytes, pos: int, value: Any) -> int:
    """Where the deterministic encoding of ``value`` at ``pos`` ends, or -1 if the item there
    is not that encoding."""
    kind = type(value)
    if kind is str:
        size = len(value) if value.isascii() else len(value.encode("utf-8"))
        if size < 24:  # the common case inline: one head byte holds the length
            return pos + 1 + size if data[pos] == _TEXT | size else -1
        start = _argument(data, pos, _TEXT, size)
        return start + size if start >= 0 else -1
    if kind is int:
        if 0 <= value < 24:
            return pos + 1 if data[pos] == value else -1
        return _argument(data, pos, _UINT, value) if value >= 0 else _argument(
            data, pos, _NINT, -1 - value)
    if kind is float:
        return _float(data, pos, value)
    if kind is dict:
        return _map(data, pos, value)
    if kind is bytes:
        start = _argument(data, pos, _BYTES, len(value))
        return start + len(value) if start >= 0 else -1
    if value is None:
        return pos + 1 if data[pos] == _NULL else -1
    if kind is bool:
        return pos + 1 if data[pos] == (_TRUE if value else _FALSE) else -1
    return -1


def _argument(data: bytes, pos: int, major: int, number: int) -> int:
    """Where the head of ``major`` with ``number`` in its shortest form ends, or -1."""
    if number < 24:
        return pos + 1 if data[pos] == major | number else -1
    if number < 0x100:
        return pos + 2 if data[pos] == major | 24 else -1
    if number < 0x10000:
        return pos + 3 if data[pos] == major | 25 else -1
    if number < 0x100000000:
        return pos + 5 if data[pos] == major | 26 else -1
    if number < _LIMIT:
        return pos + 9 if data[pos] == major | 27 else -1
    return -1  # a bignum (tag 2 or 3): not walked


def _float(data: bytes, pos: int, value: float) -> int:
    """A float item that decoded to ``value`` is deterministic if no narrower width holds it."""
    if not math.isfinite(value):
        return -1
    first = data[pos]
    if first == _FLOAT16:
        return pos + 3
    if first == _FLOAT32:
        return -1 if _fits(_HALF, value) else pos + 5
    if first == _FLOAT64:
        return -1 if _fits(_SINGLE, value) else pos + 9
    return -1


def _fits(width: struct.Struct, value: float) -> bool:
    try:
        narrow: float = width.unpack(width.pack(value))[0]
    except OverflowError:
        return False
    return narrow == value


def _map(data: bytes, pos: int, mapping: dict[Any, Any]) -> int:
    order = _order(tuple(mapping))
    if order is None:
        return -1
    pos = _argument(data, pos, _MAP, len(mapping))
    for key, encoded, size in order:
        if pos < 0 or data[pos : pos + size] != encoded:
            return -1
        pos = _end(data, pos + size, mapping[key])
    return pos


@lru_cache(maxsize=1024)
def _order(keys: tuple[Any, ...]) -> tuple[tuple[str, bytes, int], ...] | None:
    """The keys with their encodings and their sizes in deterministic order; None if one is
    not walked."""
    if not all(type(key) is str for key in keys):
        return None
    raws = [key.encode("utf-8") for key in keys]
    if any(len(raw) > _MAX_KEY for raw in raws):
        return None
    encoded = [(key, bytes((_TEXT | len(raw),)) + raw, 1 + len(raw))
               for key, raw in zip(keys, raws, strict=True)]
    return tuple(sorted(encoded, key=_length_first))


def _length_first(item: tuple[str, bytes, int]) -> tuple[int, bytes]:
    return item[2], item[1]
