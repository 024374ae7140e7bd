"""Resellers (the tenants), who belongs to which, and the one place queries are scoped."""
