"""Command-line conventions every fieldcheck CLI shares, so unit and host commands answer alike."""
