"""The pages of an account: sign-in (Django's, told whether sign-up is open) and sign-up."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.views import LoginView
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView

from accounts.audit import audit
from accounts.signup import USERNAME_PATTERN, USERNAME_REFUSED, username_taken


class SignInView(LoginView):
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(**kwargs) | {"allow_signup": settings.ALLOW_SIGNUP}


class SignupForm(UserCreationForm):
    """A username and a password typed twice, held to the password validators; the name as the
    API's sign-up has it (``accounts.signup``)."""

    username = forms.RegexField(
        regex=USERNAME_PATTERN,
        max_length=150,
        label=_("Username"),
        help_text=_("2 to 150 letters, digits and @ . + - _"),
        error_messages={"invalid": _(USERNAME_REFUSED)},
    )

    class Meta(UserCreationForm.Meta):  # type: ignore[name-defined]
        model = get_user_model()
        fields = ("username", "first_name", "email")
        labels = {"first_name": _("Display name"), "email": _("Email (optional)")}
        help_texts = {"first_name": _("The name others see; left empty, your username.")}

    def clean_username(self) -> str:
        username = str(self.cleaned_data["username"])
        if username_taken(username):
            raise forms.ValidationError(_(USERNAME_REFUSED))
        return username


class SignupView(FormView):
    """``/accounts/signup/`` where ALLOW_SIGNUP is on (404 otherwise); throttled as sign-in is
    (``core.middleware.LoginThrottleMiddleware``). The new account is signed in at once."""

    form_class = SignupForm
    template_name = "registration/signup.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not settings.ALLOW_SIGNUP:
            raise Http404("Sign-up is switched off here.")
        if request.user.is_authenticated:
            return redirect(settings.LOGIN_REDIRECT_URL)
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form: SignupForm) -> HttpResponse:
        user = form.save()
        audit("signed_up", actor=user)
        login(self.request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect(settings.LOGIN_REDIRECT_URL)
