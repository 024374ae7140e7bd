"""Landing pages: the staff home and the self-service home."""
