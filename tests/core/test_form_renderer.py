"""``himaya.core.form_renderer.WidgetRenderer`` writes exactly what Django's widget templates
write: every widget of every form of the project, and Django's widgets in the shapes they
take (option groups, labels wrapped or not, safe and unsafe values, numbers and dates in
Arabic and French), rendered both ways and compared byte for byte. Fails if a writer drifts
from its template, e.g. after a Django upgrade changes one."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from importlib import import_module
from typing import Any

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates, get_default_renderer
from django.utils import translation
from django.utils.safestring import mark_safe

from himaya.core.form_renderer import WidgetRenderer

FORM_MODULES = (
    "himaya.accounts.forms",
    "himaya.cases.forms",
    "himaya.cases.forms_intake",
    "himaya.justice.forms",
    "himaya.network.forms",
    "himaya.referrals.forms",
)
TEMPLATES = DjangoTemplates()
FAST = WidgetRenderer()
#: Values a field's widget may be given: nothing, empty, text that must be escaped, safe
#: text, a number, a date, a list (the multiple-choice widgets).
VALUES: tuple[Any, ...] = (
    None,
    "",
    "a <b> & \"c\" 'd'",
    mark_safe("<i>safe</i>"),  # nosec B308 B703 - a test value
    12345.5,
    Decimal("1234.50"),
    date(2026, 11, 28),
    datetime(2026, 11, 28, 9, 30, tzinfo=UTC),
    ["1", "2"],
    True,
)


def _both(widget: forms.Widget, name: str, value: Any, attrs: dict[str, Any] | None) -> None:
    try:
        expected = widget.render(name, value, attrs=attrs, renderer=TEMPLATES)
    except (TypeError, ValueError, AttributeError) as refused:
        # A value the widget itself cannot take (a list for a yes/no): refused alike.
        with pytest.raises(type(refused)):
            widget.render(name, value, attrs=attrs, renderer=FAST)
        return
    written = widget.render(name, value, attrs=attrs, renderer=FAST)
    assert written == expected, (type(widget).__name__, name, value)


def _project_widgets() -> Iterator[tuple[str, forms.Field]]:
    for module_name in FORM_MODULES:
        module = import_module(module_name)
        for _, form_class in inspect.getmembers(module, inspect.isclass):
            if issubclass(form_class, forms.BaseForm) and form_class.__module__ == module_name:
                fields: dict[str, forms.Field] = getattr(form_class, "base_fields", {})
                for field_name, field in fields.items():
                    yield f"{form_class.__name__}.{field_name}", field


def test_it_is_the_renderer_of_every_form() -> None:
    assert isinstance(get_default_renderer(), WidgetRenderer)


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_every_widget_of_the_project_renders_as_its_template_does(language: str) -> None:
    fields = list(_project_widgets())
    assert len(fields) > 100  # the forms were found
    with translation.override(language):
        for name, field in fields:
            choices = [str(value) for value, _label in getattr(field, "choices", [])][:2]
            for value in (*VALUES, *choices, choices):
                _both(field.widget, name.replace(".", "-"), value, {"id": f"id_{name}"})


def _choices() -> list[Any]:
    return [
        ("", "—"),
        ("a", "Alpha <1>"),
        ("Group & co", [("b", "Beta"), ("c", mark_safe("<em>Gamma</em>"))]),  # nosec B308 B703
        (3, 3),
        (Decimal("4.5"), date(2026, 1, 2)),
    ]


WIDGETS: tuple[forms.Widget, ...] = (
    forms.TextInput(attrs={"class": "x", "required": True, "disabled": False, "maxlength": 5}),
    forms.NumberInput(attrs={"step": Decimal("0.5")}),
    forms.EmailInput(),
    forms.URLInput(),
    forms.PasswordInput(render_value=True),
    forms.PasswordInput(),
    forms.HiddenInput(),
    forms.DateInput(attrs={"type": "date"}),
    forms.DateInput(format="%d/%m/%Y"),
    forms.DateTimeInput(),
    forms.TimeInput(),
    forms.FileInput(),
    forms.CheckboxInput(),
    forms.CheckboxInput(check_test=lambda v: v == "on"),
    forms.Textarea(attrs={"rows": 3}),
    forms.Select(choices=_choices()),
    forms.Select(choices=_choices(), attrs={"class": "pick"}),
    forms.SelectMultiple(choices=_choices()),
    forms.NullBooleanSelect(),
    forms.RadioSelect(choices=_choices()),
    forms.RadioSelect(choices=_choices(), attrs={"class": "inline"}),
    forms.CheckboxSelectMultiple(choices=_choices()),
)


@pytest.mark.parametrize("language", ["fr", "ar", "zgh"])
@pytest.mark.parametrize("attrs", [None, {"id": "id_f"}, {"id": "id_f", "class": "c"}])
@pytest.mark.parametrize("widget", WIDGETS, ids=lambda w: type(w).__name__)
def test_django_widgets_render_as_their_templates_do(
    widget: forms.Widget, attrs: dict[str, Any] | None, language: str
) -> None:
    with translation.override(language):
        for value in (*VALUES, "a", "b", 3, "4.5", ["a", "c"], ["b"], "on", False):
            _both(widget, "f", value, attrs)


def test_a_widget_it_does_not_know_is_left_to_its_template() -> None:
    """A template of the widget's own, or an option template of its own, is rendered by
    Django's templates (the writers never guess)."""

    class Plain(forms.Select):
        option_template_name = "django/forms/widgets/input_option.html"

    class Clearable(forms.ClearableFileInput):
        pass

    for widget in (Plain(choices=_choices()), Clearable(), forms.SplitDateTimeWidget()):
        _both(widget, "f", None, {"id": "id_f"})
        _both(widget, "f", "a", None)
