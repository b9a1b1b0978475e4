"""The OpenAPI schema and the interactive docs, working offline under the strict CSP."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.test import Client


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts: list[str] = []
        self._in_script: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href"):
            if values.get(name):
                self.urls.append(str(values[name]))
        if tag == "script":
            self._in_script = "src" if values.get("src") else str(values.get("type") or "")
        if any(name.startswith("on") for name, _value in attrs):
            self.inline_scripts.append(f"event handler on <{tag}>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = None

    def handle_data(self, data: str) -> None:
        # A JSON data block (type="application/json") is never executed; anything else is.
        if self._in_script not in (None, "src", "application/json") and data.strip():
            self.inline_scripts.append(data)


def test_the_openapi_schema_loads_and_lists_the_endpoints(client: Client, db: None) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/me", "/api/v1/health", "/api/v1/tokens", "/api/v1/tokens/{token_id}"} <= set(
        schema["paths"]
    )
    assert "TokenAuth" in schema["components"]["securitySchemes"]
    # Separate input and output schemas.
    assert {"TokenCreateIn", "TokenCreatedOut", "TokenOut", "TokenListOut"} <= set(
        schema["components"]["schemas"]
    )


def test_the_docs_page_uses_only_same_origin_assets_and_no_inline_script(
    client: Client, db: None
) -> None:
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", html, re.IGNORECASE)
    parser = _Assets()
    parser.feed(html)
    assert parser.urls, "the page should load Swagger UI from our static files"
    for url in parser.urls:
        assert url.startswith("/"), url
        assert not url.startswith("//"), url
    assert parser.inline_scripts == []
    # The page is served under the site's CSP, unchanged: scripts only from our origin.
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    # Swagger UI must not send the schema to validator.swagger.io nor keep tokens.
    assert '"validatorUrl": null' in html
    assert '"persistAuthorization": false' in html


def test_the_docs_scripts_are_served_from_our_static_files(client: Client, db: None) -> None:
    html = client.get("/api/v1/docs").content.decode()
    parser = _Assets()
    parser.feed(html)
    scripts = [url for url in parser.urls if url.endswith(".js")]
    assert any("swagger-ui-init.js" in url for url in scripts)
    for url in scripts:
        response = client.get(url)
        assert response.status_code == 200, url


@pytest.mark.parametrize("path", ["/api/v1/health"])
def test_health_answers_without_authentication(client: Client, db: None, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
