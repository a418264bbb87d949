"""GPS simulator: a simulated NMEA 0183 receiver on a pty, TCP socket or serial port."""
