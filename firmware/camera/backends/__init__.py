"""Camera backends; picamera2 is imported only inside its own module."""
