"""``{% curator_dashboard %}``: the curator's dashboard, drawn on the admin index above Django's app list.

An inclusion tag rather than a replaced ``AdminSite.index``: the admin's own view, URL and context stay
Django's, and the dashboard is computed only where the template asks for it (the index), for the
requesting user (:func:`workflows.automation.dashboard.build_dashboard`).
"""

from __future__ import annotations

from typing import Any

from django import template

from workflows.automation.dashboard import build_dashboard

register = template.Library()


@register.inclusion_tag("admin/dashboard/panel.html", takes_context=True)
def curator_dashboard(context: template.Context) -> dict[str, Any]:
    """The dashboard for the user of the request being rendered (the admin index always has one)."""
    return {"dashboard": build_dashboard(user=context["request"].user)}
