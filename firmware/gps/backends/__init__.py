"""GPS byte-source backends; each imports its vendor library only inside itself."""
