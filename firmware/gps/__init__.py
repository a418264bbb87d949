"""GPS adapter: byte sources (serial, TCP, replay), NMEA framing and parsing into observations."""
