"""The feedback adapter: receipts, guidance and state shown to the wearer and the technician."""
