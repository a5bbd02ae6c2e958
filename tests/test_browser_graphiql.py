"""GraphiQL in development, in headless Chromium, with no CDN reachable: the IDE's files come from
tools/graphiql (npm ci), and an authenticated query runs with a header set in the IDE."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from core.settings import Settings
from graph.app import create_app
from graph.graphiql_assets import DEFAULT_PACKAGES
from graph.runtime import Runtime
from tests.browser import chromium, save_screenshot, wait_until
from tests.conftest import make_settings
from tests.databases import SqliteTemplate
from tests.factories import access_token, create_user
from tests.services import IN_CI
from tests.threaded_servers import live_api

__all__ = ["chromium"]  # the fixture, imported to be found by pytest

EMAIL = "ide@example.com"
QUERY = "{ me { email } }"
# GraphiQL 3 edits with CodeMirror 5; each editor's instance hangs on its wrapper element.
SET_QUERY = """
document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(arguments[0]);
"""
SET_VISIBLE_TOOL_EDITOR = """
const editors = [...document.querySelectorAll('.graphiql-editor:not(.hidden) .CodeMirror')]
  .filter((editor) => !editor.closest('.graphiql-query-editor'));
editors[0].CodeMirror.setValue(arguments[0]);
"""
RESULT_TEXT = "return document.querySelector('.result-window .CodeMirror').CodeMirror.getValue();"


def require_graphiql_assets() -> None:
    if (DEFAULT_PACKAGES / "graphiql" / "package.json").exists():
        return
    reason = "tools/graphiql/node_modules is missing (run: npm ci --prefix tools/graphiql)"
    if IN_CI:
        pytest.fail(f"{reason}; CI=true makes it mandatory", pytrace=False)
    pytest.skip(reason)


def seeded_token(settings: Settings) -> str:
    async def seed() -> str:
        runtime = Runtime.from_settings(settings)
        try:
            return access_token(runtime, await create_user(runtime, EMAIL))
        finally:
            await runtime.close()

    return asyncio.run(seed())


def test_graphiql_runs_an_authenticated_query_with_a_header_set_in_the_ide(
    sqlite_template: SqliteTemplate, tmp_path: Path, chromium: webdriver.Chrome
) -> None:
    require_graphiql_assets()
    # given a development server and a user's access token
    settings = make_settings(sqlite_template.clone(tmp_path), tmp_path)
    token = seeded_token(settings)
    with live_api(settings) as api:
        # when the IDE is opened; its scripts load from this server, not from unpkg
        chromium.get(f"{api}/graphql")
        wait_until(chromium, lambda d: d.find_elements(By.CSS_SELECTOR, ".graphiql-query-editor"))
        scripts = chromium.execute_script(
            "return [...document.scripts].map((s) => s.src).filter(Boolean);"
        )
        assert scripts and all(src.startswith(f"{api}/graphiql-assets/") for src in scripts)

        # and the query is typed, the Authorization header set in the Headers tab, and run
        chromium.execute_script(SET_QUERY, QUERY)
        tabs = chromium.find_elements(By.CSS_SELECTOR, ".graphiql-editor-tools button")
        next(tab for tab in tabs if tab.text == "Headers").click()
        headers = json.dumps({"Authorization": f"Bearer {token}"})
        chromium.execute_script(SET_VISIBLE_TOOL_EDITOR, headers)
        chromium.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()

        # then the answer shows the user's email
        wait_until(chromium, lambda d: EMAIL in d.execute_script(RESULT_TEXT))
        assert json.loads(chromium.execute_script(RESULT_TEXT)) == {
            "data": {"me": {"email": EMAIL}}
        }
        save_screenshot(chromium, "graphiql-me")
        # and an asset outside the page's list is not served
        assert httpx.get(f"{api}/graphiql-assets/graphiql@3.8.3/package.json").status_code == 404


async def test_production_serves_no_ide(sqlite_template: SqliteTemplate, tmp_path: Path) -> None:
    # given production settings
    settings = make_settings(
        sqlite_template.clone(tmp_path),
        tmp_path,
        environment="production",
        allowed_hosts=["127.0.0.1"],
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://127.0.0.1") as client:
        # when a browser asks for the IDE and its files
        page = await client.get("/graphql", headers={"accept": "text/html"})
        asset = await client.get("/graphiql-assets/graphiql@3.8.3/graphiql.min.js")
    await app.state.runtime.close()

    # then neither is there
    assert page.status_code != 200
    assert "graphiql" not in page.text.lower()
    assert asset.status_code == 404
