"""The four roles come from code on migrate (the demo's logins: tests/leads/test_seed_demo.py)."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission

from agreements import roles


def permission_names(group: Group) -> set[str]:
    return {
        f"{app}.{codename}"
        for app, codename in group.permissions.values_list("content_type__app_label", "codename")
    }


@pytest.mark.django_db
def test_migrate_creates_the_four_groups_with_exactly_the_coded_permissions():
    assert set(Group.objects.values_list("name", flat=True)) >= set(roles.ROLES)
    for role in roles.ROLES:
        group = Group.objects.get(name=role)
        assert permission_names(group) == set(roles.ROLE_PERMISSIONS[role]), role


@pytest.mark.django_db
def test_every_coded_permission_exists():
    """A typo in roles.py would otherwise silently grant nothing."""
    for role, names in roles.ROLE_PERMISSIONS.items():
        for name in names:
            app_label, codename = name.split(".", 1)
            assert Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).exists(), f"{role}: {name} does not exist"


@pytest.mark.django_db
def test_sync_roles_puts_back_permissions_changed_by_hand():
    ops = Group.objects.get(name=roles.OPS)
    ops.permissions.clear()
    ops.permissions.add(Permission.objects.get(codename="delete_user"))
    roles.sync_roles(app_config=apps.get_app_config("leads"))
    assert permission_names(ops) == set(roles.ROLE_PERMISSIONS[roles.OPS])


@pytest.mark.django_db
def test_a_migrate_writes_the_roles_once_on_the_last_apps_signal(django_assert_num_queries):
    """post_migrate comes once per app (16 of them); the roles were written on each, 180
    queries a time: four seconds of every flush between transactional tests. Now only the
    last app's signal writes them, when every app's permissions exist."""
    ops = Group.objects.get(name=roles.OPS)
    ops.permissions.clear()
    configs = [c for c in apps.get_app_configs() if c.models_module is not None]
    for config in configs[:-1]:
        with django_assert_num_queries(0):
            roles.sync_roles(sender=config, app_config=config, using="default")
    assert not ops.permissions.exists()
    roles.sync_roles(sender=configs[-1], app_config=configs[-1], using="default")
    assert permission_names(ops) == set(roles.ROLE_PERMISSIONS[roles.OPS])


@pytest.mark.django_db
def test_only_ops_may_change_the_sla_and_sales_cannot():
    for role in (roles.MARKETING, roles.SALES_REP, roles.SALES_MANAGER):
        granted = set(roles.ROLE_PERMISSIONS[role])
        assert "agreements.change_agreement" not in granted, role
        assert "agreements.change_responserule" not in granted, role
    assert "agreements.change_agreement" in roles.ROLE_PERMISSIONS[roles.OPS]
