"""Navigation shown on every page: the user's role and the links that role may follow."""

from typing import Any

from django.http import HttpRequest

from agreements import roles


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The links of the page header for the signed-in user's roles."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    links = []
    if roles.has_role(user, roles.SALES_REP):
        links.append(("My queue", "/queue/"))
    if roles.has_role(user, roles.SALES_MANAGER):
        links += [("Team", "/team/"), ("Lead desk", "/desk/")]
    if roles.has_role(user, roles.MARKETING, roles.OPS):
        links += [
            ("Marketing", "/marketing/"),
            ("Imports", "/imports/"),
            ("Duplicates", "/duplicates/"),
        ]
    if roles.has_role(user, roles.MARKETING, roles.OPS, roles.SALES_REP, roles.SALES_MANAGER):
        links.append(("Content", "/content/"))
    if roles.has_role(user, roles.SALES_MANAGER, roles.OPS, roles.MARKETING, roles.SALES_REP):
        links.append(("Reports", "/reports/"))
    if roles.has_role(user, roles.OPS):
        links.append(("Ops", "/ops/"))
    links.append(("Playbook", "/playbook/"))
    return {"nav_links": links, "nav_role": roles.primary_role(user) or "No role"}
