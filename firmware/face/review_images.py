"""Frames of a failed check-in kept for human review: JPEG, sealed, 0600, deleted when expired.

The unit holds only the review desk's public key (``[checkin] review_public_key``), so nothing
on it can open these files again; the desk opens them with :func:`open_sealed` and its private
key. Files are named by the check-in record's seq and the frame index, and are never logged.
"""

import io
import logging
import re
import secrets
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from fieldcheck_protocol import review_box
from firmware.errors import StoreError
from firmware.face import picture
from firmware.private_file import publish_new

logger = logging.getLogger(__name__)

SUFFIX = ".sealed"
JPEG_QUALITY = 90
#: The first bytes of a file hold its whole header (a header line is about 250 bytes).
_HEADER_BYTES = 1024
_NAME = re.compile(r"review-\d+-\d+\.sealed")
_SCRATCH = re.compile(r"\.review-.*\.tmp")


def file_name(seq: int, frame: int) -> str:
    """The name of frame ``frame`` of the check-in record ``seq``."""
    return f"review-{seq:010d}-{frame}{SUFFIX}"


def to_jpeg(frame: NDArray[np.uint8]) -> bytes:
    """One RGB or RGBX uint8 frame as a 3-channel JPEG (the camera's fourth byte is dropped;
    no metadata).

    Raises ValueError for any other shape or type.
    """
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] not in (3, 4):
        raise ValueError(f"a {frame.dtype} frame of shape {frame.shape} is neither RGB nor RGBX")
    buffer = io.BytesIO()
    colours = picture.mapped(frame) if picture.is_mapped(frame) else Image.fromarray(
        np.ascontiguousarray(frame[..., :3]))
    colours.convert("RGB").save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def open_sealed(path: Path, review_private_key: bytes) -> tuple[review_box.ReviewHeader, bytes]:
    """The review desk's side: the header and JPEG bytes of a sealed file.

    Raises ``ReviewBoxError`` when the file was altered or sealed to another review key.
    """
    return review_box.open_box(path.read_bytes(), review_private_key)


class ReviewImages:
    """Seals review frames into ``directory`` and deletes them after ``retention_days``."""

    def __init__(self, directory: Path, review_public: bytes, device_id: str,
                 retention_days: float,
                 token: Callable[[int], bytes] = secrets.token_bytes) -> None:
        self.directory = directory
        self.retention = timedelta(days=retention_days)
        self._public = review_public
        self._device_id = device_id
        self._token = token

    def keep(self, frames: Sequence[NDArray[np.uint8]], seq: int, captured: datetime) -> int:
        """Seal each frame of check-in record ``seq`` to its own file; returns how many.

        Raises StoreError when a frame cannot be encoded or written (nothing is retried).
        """
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as err:
            raise StoreError(f"cannot create the review image directory {self.directory}: "
                             f"{err.strerror}", "check the data dir's owner and free space") \
                from err
        for index, frame in enumerate(frames):
            self._keep_one(frame, seq, index, captured)
        return len(frames)

    def _keep_one(self, frame: NDArray[np.uint8], seq: int, index: int,
                  captured: datetime) -> None:
        path = self.directory / file_name(seq, index)
        try:
            sealed = review_box.seal(to_jpeg(frame), self._public, self._device_id, seq, index,
                                     captured, self._token)
        except (ValueError, TypeError, OSError) as err:
            raise StoreError(f"cannot encode review frame {index} of record {seq}: {err}",
                             "report it: the camera gave a frame that is not RGB or RGBX") \
                from err
        try:
            publish_new(path, sealed)
        except FileExistsError as err:
            raise StoreError(f"review image {path} already exists; not replacing it",
                             "move the review dir aside if the record store was reset") from err
        except OSError as err:
            raise StoreError(f"cannot write review image {path}: {err.strerror}",
                             "check the data dir's owner and free space") from err

    def prune(self, now: datetime) -> int:
        """Delete sealed files captured before ``now`` minus the retention; returns how many.

        The capture time comes from each file's header, else (damaged header) its mtime.
        """
        cutoff = now - self.retention
        try:
            entries = [p for p in self.directory.iterdir()
                       if _NAME.fullmatch(p.name) or _SCRATCH.fullmatch(p.name)]
        except FileNotFoundError:
            return 0  # nothing kept yet
        except OSError as err:
            raise StoreError(f"cannot list the review image directory {self.directory}: "
                             f"{err.strerror}", "check the data dir's owner") from err
        removed = 0
        for path in entries:
            try:
                if self._captured(path) < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue  # removed meanwhile
            except OSError as err:
                raise StoreError(f"cannot delete expired review image {path}: {err.strerror}",
                                 "check the data dir's owner") from err
        if removed:
            logger.info("deleted %d review image file(s) past their retention", removed)
        return removed

    @staticmethod
    def _captured(path: Path) -> datetime:
        with path.open("rb") as handle:
            head = handle.read(_HEADER_BYTES)
        try:
            return review_box.read_header(head).captured
        except review_box.ReviewBoxError:
            # A damaged or half-written file still expires, by when it was last written.
            return datetime.fromtimestamp(path.stat().st_mtime).astimezone()
