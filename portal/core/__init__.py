"""Pieces every domain app shares: encrypted fields, validators, request context, health."""
