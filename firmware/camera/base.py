"""The camera interface: capture a burst of frames as RGB uint8 numpy arrays."""

import numpy as np
from numpy.typing import NDArray

from firmware.core.lifecycle import Lifecycle

Frame = NDArray[np.uint8]


class Camera(Lifecycle):
    """A camera owned by one thread; callers ask for bursts and wait for them.

    ``capture_burst`` returns ``count`` frames, each (height, width, 3) RGB uint8, or raises
    ``CameraError`` when the camera fails or gives nothing within ``timeout`` seconds.
    """

    #: Human description for log messages, e.g. "Camera Module 3 (imx708) 1536x864".
    describe: str = "camera"

    def capture_burst(self, count: int, timeout: float = 5.0) -> list[Frame]:
        """Capture ``count`` consecutive frames."""
        raise NotImplementedError
