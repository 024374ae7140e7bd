from django.core.management.base import BaseCommand, CommandError

from portal.core.keyrotation import rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every secret at rest with the first key of FIELD_ENCRYPTION_KEYS "
        "(carrier credentials, SIP and trunk passwords, TOTP keys). See docs/security.md."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="store_true",
            help="Only count the secrets not yet on the first key; exit 1 if there are any.",
        )

    def handle(self, *args, check=False, **options):
        try:
            counts = rotate(check_only=check)
        except ValueError as exc:
            raise CommandError(f"{exc}: keep every key that encrypted a stored secret in FIELD_ENCRYPTION_KEYS.") from None
        labels = sorted({name.rsplit(": ", 1)[0] for name in counts})
        stale_total = 0
        for label in labels:
            stale, current = counts[f"{label}: stale"], counts[f"{label}: current"]
            stale_total += stale
            verb = "on an older key" if check else "re-encrypted"
            self.stdout.write(f"  {label}: {stale} {verb}, {current} already on the first key")
        if check:
            if stale_total:
                raise CommandError(f"{stale_total} secret(s) still need the older key: run rotate_field_keys.")
            self.stdout.write(self.style.SUCCESS("Every secret is on the first key: older keys can be removed."))
        else:
            self.stdout.write(self.style.SUCCESS(f"Done: {stale_total} secret(s) re-encrypted with the first key."))
