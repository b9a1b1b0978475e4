"""Django's form widgets, written out without a template per widget.

Django renders every widget through a template of its own (``django/forms/widgets/*.html``),
and every option of a select, a list of radio buttons or of checkboxes through one more
``{% include %}`` each. On the case page, eight forms, that was a quarter of the page's
template time. ``WidgetRenderer`` (``FORM_RENDERER`` in settings) writes the same HTML, byte
for byte, in Python for the widget templates below, and hands every other template to
Django's own renderer: a form's or a field's layout, a file input that shows its current
file, a multi-widget, a template of our own.

Values are written as the templates write them: ``{{ … }}`` goes through Django's
``render_value_in_context`` (localized, escaped unless already safe), ``|stringformat:'s'``
keeps a safe value safe. ``tests/core/test_form_renderer.py`` renders every form of the
project, bound and unbound, both ways and compares them, so a Django upgrade that changes a
widget template fails there, not on a page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.forms.renderers import DjangoTemplates
from django.template.base import render_value_in_context
from django.template.context import Context
from django.utils.safestring import SafeData, mark_safe

WIDGETS = "django/forms/widgets/"
#: The templates that only include ``input.html``.
INPUTS = frozenset(
    f"{WIDGETS}{name}.html"
    for name in (
        "input",
        "text",
        "number",
        "email",
        "url",
        "password",
        "hidden",
        "date",
        "datetime",
        "time",
        "tel",
        "search",
        "color",
        "file",
        "checkbox",
    )
)
SELECT_OPTION = f"{WIDGETS}select_option.html"
#: The option templates of radio buttons and checkboxes (both include ``input_option.html``).
INPUT_OPTIONS = frozenset({f"{WIDGETS}radio_option.html", f"{WIDGETS}checkbox_option.html"})

#: What ``{{ … }}`` sees: autoescaping on, localization and time zone as settings say.
_CONTEXT = Context(autoescape=True)


def _out(value: Any) -> str:
    """``{{ value }}``."""
    return str(render_value_in_context(value, _CONTEXT))


def _stringformat(value: Any) -> str:
    """``{{ value|stringformat:'s' }}``: the filter keeps a safe value safe."""
    text = "%s" % (str(value) if isinstance(value, tuple) else value)
    # Marks safe only what was safe already, as the filter does.
    safe = isinstance(value, SafeData)
    return _out(mark_safe(text) if safe else text)  # noqa: S308  # nosec B308 B703


def _attrs(attrs: Mapping[str, Any]) -> str:
    """``attrs.html``."""
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        shown = "" if value is True else f'="{_stringformat(value)}"'
        parts.append(f" {_out(name)}{shown}")
    return "".join(parts)


def _input(widget: Mapping[str, Any]) -> str:
    """``input.html``, with its final line break."""
    value = widget["value"]
    shown = f' value="{_stringformat(value)}"' if value is not None else ""
    return (
        f'<input type="{_out(widget["type"])}" name="{_out(widget["name"])}"{shown}'
        f"{_attrs(widget['attrs'])}>\n"
    )


def _input_option(option: Mapping[str, Any]) -> str:
    """``radio_option.html`` / ``checkbox_option.html`` (``input_option.html``), the label
    wrapped around the input (as Django's widgets always wrap it)."""
    ident = option["attrs"].get("id")
    label_for = f' for="{_out(ident)}"' if ident else ""
    return f"<label{label_for}>{_input(option)} {_out(option['label'])}</label>\n\n"


def _select(widget: Mapping[str, Any]) -> str | None:
    parts = [f'<select name="{_out(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, options, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{_out(group_name)}">')
        for option in options:
            if option["template_name"] != SELECT_OPTION:
                return None
            parts.append(
                f'\n  <option value="{_stringformat(option["value"])}"'
                f"{_attrs(option['attrs'])}>{_out(option['label'])}</option>\n"
            )
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


def _multiple_input(widget: Mapping[str, Any]) -> str | None:
    """``radio.html`` / ``checkbox_select.html`` (``multiple_input.html``)."""
    attrs = widget["attrs"]
    ident, css = attrs.get("id"), attrs.get("class")
    parts = [
        "<div",
        f' id="{_out(ident)}"' if ident else "",
        f' class="{_out(css)}"' if css else "",
        ">",
    ]
    for group, options, _index in widget["optgroups"]:
        if group:
            parts.append(f"\n  <div><label>{_out(group)}</label>")
        for option in options:
            if option["template_name"] not in INPUT_OPTIONS or not option.get("wrap_label"):
                return None
            parts.append(f"<div>\n    {_input_option(option)}</div>")
        if group:
            parts.append("\n  </div>")
    parts.append("\n</div>")
    return "".join(parts)


def _textarea(widget: Mapping[str, Any]) -> str:
    value = widget["value"]
    return (
        f'<textarea name="{_out(widget["name"])}"{_attrs(widget["attrs"])}>\n'
        f"{_out(value) if value else ''}</textarea>"
    )


_WRITERS: dict[str, Callable[[Mapping[str, Any]], str | None]] = {
    **dict.fromkeys(INPUTS, _input),
    f"{WIDGETS}select.html": _select,
    f"{WIDGETS}radio.html": _multiple_input,
    f"{WIDGETS}checkbox_select.html": _multiple_input,
    f"{WIDGETS}textarea.html": _textarea,
}


class WidgetRenderer(DjangoTemplates):
    """Django's template renderer, with the common widgets written in Python."""

    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> str:
        writer = _WRITERS.get(template_name)
        if writer is not None:
            html = writer(context["widget"])
            if html is not None:
                # Escaped above, value by value; the widget marks the whole safe, as it
                # does a template's output (Widget._render).
                return html.strip()
        return str(super().render(template_name, context, request=request))
