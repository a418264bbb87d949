"""Camera adapter: bursts of RGB frames from the Pi camera or, on the bench, from image files."""
