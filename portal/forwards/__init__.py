"""Call forwards of a subscriber or a number."""
