"""The sandbox carriers: an emulator of the four carrier APIs, run as its own process."""
