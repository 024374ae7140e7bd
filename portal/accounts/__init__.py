"""People who log in: users, invitations, and the login rules (invite-only, MFA)."""
