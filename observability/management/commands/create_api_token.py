"""manage.py create_api_token USERNAME: print the user's API token (created if needed)."""

from django.core.management.base import BaseCommand, CommandError

from observability.access import issue_token


class Command(BaseCommand):
    help = "Print USERNAME's API token for the Authorization: Token header (created if needed)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--rotate", action="store_true", help="Replace an existing token with a new one.")

    def handle(self, *args, username, rotate, **options):
        from django.contrib.auth import get_user_model

        try:
            key, created = issue_token(username, rotate=rotate)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user named {username!r}", returncode=2) from None
        self.stdout.write(key)
        if created:
            self.stderr.write(self.style.SUCCESS(f"new token for {username}"))
