"""The OpenAPI schema validates, and its docs page loads with assets served from Accord."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db


def test_the_schema_validates_against_the_openapi_spec():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)
    assert {"/api/v1/leads/", "/api/v1/activities/", "/api/v1/suppression/"} <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["apiToken"]["scheme"] == "bearer"


def test_the_spectacular_command_validates_without_warnings(tmp_path, capsys):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert "openapi:" in target.read_text()


def test_the_schema_is_served_to_people_signed_in(client, marketer):
    assert client.get("/api/v1/schema/").status_code in (401, 403)
    client.force_login(marketer)
    response = client.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Accord API"


def docs_assets(html: str) -> list[str]:
    """The scripts, styles and icons the docs page loads."""
    return re.findall(r'(?:src|href)="([^"]+)"', html)


def test_the_docs_page_sends_people_not_signed_in_to_the_login_page(client):
    response = client.get("/api/docs/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/api/docs/")


def test_the_docs_page_loads_its_assets_from_accord(client, marketer, settings):
    client.force_login(marketer)
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "<script>" not in html  # no inline script: the policy would block it
    assets = docs_assets(html)
    assert len(assets) >= 4
    for asset in assets:
        assert asset.startswith("/"), f"{asset} is not served by Accord"
        if asset.startswith(settings.STATIC_URL):
            # Static files are served from the collected copy (tests/production fetches them).
            assert finders.find(asset.removeprefix(settings.STATIC_URL)), asset
        else:
            script = client.get(asset)  # the page's own start-up script, served by the view
            assert script.status_code == 200
            assert "SwaggerUIBundle" in script.content.decode()
