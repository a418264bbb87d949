"""The HTTP edge: the FastAPI app, mapping domain errors to status codes."""
