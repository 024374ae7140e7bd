from django.core.management.base import BaseCommand, CommandError

from portal.core.demo import DEMO_PASSWORD, SandboxUnavailable, seed


class Command(BaseCommand):
    help = "Create (or top up) the demo resellers, carrier accounts on the sandbox, customers and logins."

    def add_arguments(self, parser):
        parser.add_argument("--sandbox-url", help="The sandbox carriers (default: settings.SANDBOX_URL).")

    def handle(self, *args, sandbox_url=None, **options):
        try:
            logins = seed(sandbox_url=sandbox_url)
        except SandboxUnavailable as exc:
            raise CommandError(f"{exc}. Start it with: python -m portal.sandbox --port 8100") from None
        self.stdout.write(self.style.SUCCESS("Demo data is ready. Logins (password for all: %s):" % DEMO_PASSWORD))
        width = max(len(login.role) for login in logins)
        for login in logins:
            self.stdout.write(f"  {login.role.ljust(width)}  {login.email}")
