"""The fieldcheck protocol shared by unit and server: records, signatures, the wire contract."""
