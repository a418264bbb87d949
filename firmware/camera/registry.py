"""The camera backends this firmware knows, by name (the ``[camera] type`` setting)."""

from firmware.core.backend import Backend

BACKENDS: tuple[Backend, ...] = (
    Backend(
        name="picamera2",
        module="firmware.camera.backends.picamera2",
        summary="Raspberry Pi camera (Camera Module 3) through libcamera/picamera2",
        requires=("picamera2",),
        install="sudo apt install python3-picamera2 (Raspberry Pi OS), or the fieldcheck[pi] extra",
    ),
    Backend(
        name="replay",
        module="firmware.camera.backends.replay",
        summary="serve image files from a folder as frames (bench and tests)",
        requires=("PIL",),
        install="pip install pillow (part of the fieldcheck[device] extra)",
    ),
)
