"""A frame as a Pillow picture, without copying it when the camera's 4-byte pixels allow.

The unit's camera gives RGBX frames (picamera2's ``XBGR8888``: bytes R, G, B, then one unused
byte), which Pillow can read in place: its own RGB pictures keep four bytes per pixel, so a
C-contiguous (height, width, 4) array is mapped as a read-only picture and only the pixels a
transform reads are ever touched. Three-byte RGB frames (enrolment from image files, the
bench's photos) must be copied into Pillow's layout; callers then copy only the part they need.
"""

import numpy as np
from numpy.typing import NDArray
from PIL import Image

Frame = NDArray[np.uint8]


def is_mapped(frame: Frame) -> bool:
    """Whether ``frame`` can be read by Pillow in place (C-contiguous RGBX uint8)."""
    return (frame.ndim == 3 and frame.shape[2] == 4 and frame.dtype == np.uint8
            and frame.flags.c_contiguous)


def mapped(frame: Frame) -> Image.Image:
    """The whole RGBX ``frame`` as a read-only Pillow picture sharing its memory.

    Raises ValueError for a frame :func:`is_mapped` refuses (the caller copies instead).
    """
    if not is_mapped(frame):
        raise ValueError(f"frame of shape {frame.shape} ({frame.dtype}) is not C-contiguous RGBX")
    height, width = frame.shape[:2]
    return Image.frombuffer("RGBX", (width, height), frame, "raw", "RGBX", 0, 1)


def rgb(frame: Frame) -> Frame:
    """The frame's three colour channels (a view: no copy, strided for an RGBX frame)."""
    return frame[..., :3]


def rgbx(frame: Frame) -> Frame:
    """An RGB or RGBX frame as C-contiguous RGBX (the camera's layout; copies only RGB ones)."""
    if is_mapped(frame):
        return frame
    if frame.ndim != 3 or frame.shape[2] not in (3, 4):
        raise ValueError(f"frame of shape {frame.shape} is neither RGB nor RGBX")
    out = np.empty((*frame.shape[:2], 4), np.uint8)
    out[..., :3] = frame[..., :3]
    out[..., 3] = 255
    return out


def part(frame: Frame, bounds: tuple[int, int, int, int]) -> Image.Image:
    """The frame's pixels inside ``bounds`` (left, top, right, bottom) as a Pillow picture
    (RGBX or RGB mode: read its colours, never its fourth byte).

    A C-contiguous RGBX frame (the camera's) is read in place: the picture maps the frame's
    rows with the frame's row stride, so nothing is copied. Pillow maps only a buffer that
    holds every row's whole stride, which a part touching the last row from the right of
    the left edge lacks; that part is copied once straight from the frame's rows. A
    C-contiguous RGB frame's part is copied once the same way (Pillow keeps 4 bytes a pixel);
    any other frame's part through a contiguous copy first. Every way gives the same pixels.
    """
    left, top, right, bottom = bounds
    height, width, channels = frame.shape
    size = (right - left, bottom - top)
    if frame.dtype != np.uint8 or channels not in (3, 4) or not frame.flags.c_contiguous:
        return Image.fromarray(np.ascontiguousarray(frame[top:bottom, left:right, :3]))
    stride = width * channels
    rows = frame.reshape(-1)[top * stride + left * channels:]
    if channels == 3:
        return Image.frombuffer("RGB", size, rows, "raw", "RGB", stride, 1)
    if size[1] * stride <= rows.size:
        return Image.frombuffer("RGBX", size, rows, "raw", "RGBX", stride, 1)
    return Image.frombytes("RGB", size, rows, "raw", "RGBX", stride, 1)


#: Bytes 0 and 2 of a 32-bit word, each in its own 16-bit lane.
_EVEN_BYTES = np.uint32(0x00FF00FF)


def byte_pairs(words: NDArray[np.uint32]) -> tuple[NDArray[np.uint32], NDArray[np.uint32]]:
    """A word array's bytes 0 and 2, and its bytes 1 and 3, each byte in a 16-bit lane of
    its word (an RGBX pixel read as one word: R and B, then G and X, on a little-endian CPU).

    Lanes of up to 257 such words add without carrying into the next lane, so whole pixels
    are summed in native 32-bit arithmetic. The second array is ``words`` itself, overwritten.
    """
    even = words & _EVEN_BYTES
    words >>= np.uint32(8)
    words &= _EVEN_BYTES
    return even, words
