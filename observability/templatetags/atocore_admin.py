"""Small filters for the admin templates."""

from django import template

from observability.dashboard import parse_time

register = template.Library()


@register.filter
def as_datetime(value):
    """An ISO 8601 string (as the dashboard data holds times) as a datetime, for |date and |timesince."""
    return parse_time(value)


@register.filter
def percent(value):
    """0.8571 as "85.7%"; empty for None."""
    return "" if value is None else f"{value * 100:.1f}%"


@register.filter
def short_id(value):
    """The first 8 characters of an id, for dense tables (the full id goes in a title)."""
    return str(value)[:8]
