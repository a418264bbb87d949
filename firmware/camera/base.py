"""The camera interface: capture a burst of RGBX uint8 frames, each with its capture time.

RGBX is the layout the Pi's ISP writes natively (4 bytes per pixel: R, G, B, one unused byte
whose value means nothing), so a frame is handed on as captured and every stage reads it in
place. Consumers take an RGB frame (height, width, 3) just as well: photos read from files.
"""

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from firmware.core.lifecycle import Lifecycle

Frame = NDArray[np.uint8]


@dataclass(frozen=True)
class Burst:
    """Frames in capture order and, per frame, when it was captured (monotonic seconds).

    ``captured`` is on one monotonic clock per camera (libcamera's sensor timestamp on a Pi,
    ``time.monotonic`` on the replay camera): only differences between its values mean anything.
    """

    frames: tuple[Frame, ...]
    captured: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.frames) != len(self.captured):
            raise ValueError(f"{len(self.frames)} frames but {len(self.captured)} capture times")

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def span_s(self) -> float:
        """Seconds from the first frame's capture to the last's (0 for fewer than two)."""
        return self.captured[-1] - self.captured[0] if len(self.captured) > 1 else 0.0


class Camera(Lifecycle):
    """A camera owned by one thread; callers ask for bursts and wait for them.

    ``capture_timed`` returns ``count`` frames, each a C-contiguous (height, width, 4) RGBX
    uint8 array (the fourth byte unused), with their capture times, or raises ``CameraError``
    when the camera fails or gives nothing within ``timeout`` seconds. ``capture_burst`` is
    the same without the times.
    """

    #: Human description for log messages, e.g. "Camera Module 3 (imx708) 1536x864".
    describe: str = "camera"

    def capture_timed(self, count: int, timeout: float = 5.0) -> Burst:
        """Capture ``count`` consecutive frames with their monotonic capture times."""
        raise NotImplementedError

    def capture_burst(self, count: int, timeout: float = 5.0) -> list[Frame]:
        """Capture ``count`` consecutive frames (their capture times dropped)."""
        return list(self.capture_timed(count, timeout).frames)
