"""Face adapter: detect, align, gate, embed and match on the device (TFLite and replay backends)."""
