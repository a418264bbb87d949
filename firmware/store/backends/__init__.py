"""Record store backends; each imports its database library only inside itself."""
