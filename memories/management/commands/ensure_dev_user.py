"""Create the development login (admin / admin) when DEBUG is on and it does not exist."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

USERNAME = PASSWORD = "admin"


class Command(BaseCommand):
    help = "Create the development superuser admin/admin (DEBUG only)."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("refusing to create a development login with DEBUG off", returncode=2)
        User = get_user_model()
        if User.objects.filter(username=USERNAME).exists():
            self.stdout.write(f"development login {USERNAME!r} exists")
            return
        User.objects.create_superuser(USERNAME, email="admin@localhost", password=PASSWORD)
        self.stdout.write(self.style.SUCCESS(f"created development login {USERNAME} / {PASSWORD}"))
