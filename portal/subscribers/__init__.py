"""Subscribers: SIP accounts (extensions) of a customer."""
