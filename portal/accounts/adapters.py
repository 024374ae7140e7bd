from allauth.account.adapter import DefaultAccountAdapter


class InviteOnlyAccountAdapter(DefaultAccountAdapter):
    """Nobody signs up: staff invite their colleagues and their customers' users."""

    def is_open_for_signup(self, request) -> bool:
        return False
