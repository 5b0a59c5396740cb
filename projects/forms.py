from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from inference.styles import ASPECT_RATIOS, LANGUAGE_LABELS, RESOLUTIONS, STYLE_CHOICES
from inference.text import clean_text
from projects.validators import story_too_long, story_unreadable, validate_voice

# The styles' names in the reader's language (inference.styles names them in English).
STYLE_WORDS = {
    "cinematic": _("Cinematic"),
    "storybook": _("Storybook illustration"),
    "watercolor": _("Watercolour"),
    "anime": _("Anime"),
    "ink": _("Chinese ink painting"),
    "photo": _("Photographic"),
    "cyberpunk": _("Cyberpunk"),
    "oil": _("Oil painting"),
    "guofeng": _("Chinese traditional illustration"),
    "pixel": _("Pixel art"),
}


def tier_choices() -> list[tuple[str, str]]:
    """The pictures' tiers in the reader's language."""
    return [("draft", str(_("Draft (title cards)"))), ("fast", str(_("Fast"))), ("quality", str(_("Quality")))]


def style_choices() -> list[tuple[str, str]]:
    return [(key, str(STYLE_WORDS.get(key, label))) for key, label in STYLE_CHOICES]


# A film's languages named in the reader's language (inference.styles names them in their own).
LANGUAGE_WORDS = {"en": _("English"), "zh": _("Chinese")}


def language_choices() -> list[tuple[str, str]]:
    return [(key, str(LANGUAGE_WORDS.get(key, label))) for key, label in LANGUAGE_LABELS.items()]


class ProjectForm(forms.Form):
    """The new-film form: the same limits as the API."""

    title = forms.CharField(
        label=_("Title"), max_length=200, required=False, help_text=_("Left empty, the story's first line is used.")
    )
    # No max_length: the browser's maxlength would cut a pasted story silently. The page counts
    # instead, and clean() says once, with both numbers, what is too long.
    story = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 12, "data-max-chars": settings.STORY_MAX_CHARS}),
        required=False,
        label=_("Story"),
        help_text=format_lazy(_("Up to {} characters."), f"{settings.STORY_MAX_CHARS:,}"),
    )
    story_file = forms.FileField(
        required=False,
        label=_("…or a .txt file"),
        help_text=format_lazy(_("UTF-8 text, up to {} characters."), f"{settings.STORY_MAX_CHARS:,}"),
    )
    style = forms.ChoiceField(label=_("Style"), choices=style_choices, initial="storybook")
    aspect_ratio = forms.ChoiceField(choices=[(k, k) for k in ASPECT_RATIOS], initial="16:9", label=_("Aspect ratio"))
    resolution = forms.ChoiceField(label=_("Resolution"), choices=[(k, k) for k in RESOLUTIONS], initial="720p")
    shot_count = forms.IntegerField(min_value=1, max_value=settings.SHOT_COUNT_MAX, initial=8, label=_("Shots"))
    tier = forms.ChoiceField(
        label=_("Pictures"),
        choices=tier_choices,
        required=False,  # left out: the operator's default (IMAGE_TIER)
        initial=lambda: settings.IMAGE_TIER,
        help_text=_("Draft cards need no model; fast paints a picture in about a second; quality takes longer."),
    )
    voice = forms.CharField(
        max_length=100,
        required=False,
        validators=[validate_voice],
        label=_("Voice"),
        help_text=_(
            "Left empty, the voice follows the language; else the name of a voice installed here (the film's "
            "settings list them, to hear and choose)."
        ),
    )
    auto_render = forms.BooleanField(required=False, initial=True, label=_("Render the film when the shots are ready"))

    def full_clean(self) -> None:
        """A field in error points at its error (and its help) for screen readers."""
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                field = self.fields[name]
                described = [f"{name}-error"] + ([f"id_{name}_helptext"] if field.help_text else [])
                field.widget.attrs["aria-describedby"] = " ".join(described)

    def clean_title(self) -> str:
        return clean_text(self.cleaned_data.get("title") or "", multiline=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("story_file")
        if upload:
            if upload.size > settings.STORY_MAX_CHARS * 4:
                self.add_error(
                    "story_file",
                    _("The file is too large for a story of %(limit)s characters.")
                    % {"limit": f"{settings.STORY_MAX_CHARS:,}"},
                )
                return data
            try:
                data["story"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                self.add_error("story_file", _("The file is not UTF-8 text."))
                return data
        story = clean_text(data.get("story") or "").strip()
        if not story:
            self.add_error("story", _("Paste a story or choose a .txt file."))
        elif len(story) > settings.STORY_MAX_CHARS:
            self.add_error("story" if not upload else "story_file", story_too_long(len(story)))
        elif unreadable := story_unreadable(story):
            self.add_error("story" if not upload else "story_file", unreadable)
        data["story"] = story
        return data


LENGTH_CHOICES = [("short", _("Short (8 to 12 sentences)")), ("medium", _("Medium (20 to 30 sentences)"))]


class IdeaForm(forms.Form):
    """A story from an idea: the model writes it, the person edits it, then asks for shots."""

    idea = forms.CharField(
        label=_("Idea"), max_length=500, widget=forms.Textarea(attrs={"rows": 3}), help_text=_("A line or two.")
    )
    language = forms.ChoiceField(label=_("Language"), choices=language_choices)
    genre = forms.CharField(label=_("Genre"), max_length=100, required=False)
    length = forms.ChoiceField(label=_("Length"), choices=LENGTH_CHOICES, initial="short")

    def clean_idea(self) -> str:
        return clean_text(self.cleaned_data["idea"], multiline=False)
