"""Keeping the portal's desired state and the carriers' real state the same."""
