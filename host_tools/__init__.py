"""Host-side tools: ingest server, technician CLI, GPS simulator and bench."""
