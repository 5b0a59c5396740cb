"""What a new account's name must be, the same for the sign-up page and the API."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_noop

USERNAME_PATTERN = r"^[\w.@+-]{2,150}$"
# The same words for a name in use and a name refused, and both ways in are throttled: sign-up
# is not a way to find out who has an account.
USERNAME_REFUSED = gettext_noop("This username cannot be used; choose another.")  # the page translates it


def username_taken(username: str) -> bool:
    return bool(get_user_model().objects.filter(username__iexact=username).exists())
