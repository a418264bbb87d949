"""The face backends this firmware knows, by name (the ``[face] type`` setting)."""

from firmware.core.backend import Backend

BACKENDS: tuple[Backend, ...] = (
    Backend(
        name="tflite",
        module="firmware.face.backends.tflite",
        summary="BlazeFace + int8 embedder on LiteRT (or tflite_runtime), per manifest.json",
        requires=("numpy", "PIL"),
        install="pip install 'fieldcheck[device]' (numpy, pillow, ai-edge-litert)",
    ),
    Backend(
        name="replay",
        module="firmware.face.backends.replay",
        summary="answer recorded frames with recorded results (bench and tests)",
        requires=("numpy",),
        install="pip install 'fieldcheck[device]'",
    ),
)
