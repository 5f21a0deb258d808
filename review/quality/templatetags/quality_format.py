"""Display filters for statistics that may be undefined (None shows as n/a)."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def percent(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value * 100:.{int(digits)}f}%"


@register.filter
def stat(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{int(digits)}f}"
