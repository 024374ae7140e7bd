"""Phone numbers (DIDs), always E.164 in the portal."""
