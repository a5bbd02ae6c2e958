"""examples/dashboard in headless Chromium, served from another origin than the API.

Proves in a real browser: CORS (preflighted POSTs with an Authorization header), the WebSocket
`Origin` check, token handling (memory only), cursor pagination and live sync progress; and that
the same page served from an origin not in ALLOWED_ORIGINS gets nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.common.by import By

from tests.aws_standin import (
    REGION,
    AwsStandIn,
    aws_standin,
)
from tests.browser import chromium, save_screenshot, wait_until
from tests.conftest import make_settings
from tests.databases import SqliteTemplate
from tests.example_accounts import PASSWORD, seed_account
from tests.threaded_servers import live_api, static_site
from tests.tooling import ROOT

__all__ = ["aws_standin", "chromium"]  # fixtures, imported to be found by pytest

DASHBOARD = ROOT / "examples" / "dashboard"
EMAIL = "dashboard@example.com"
PAGE_SIZE = 3

# Runs in the page: open a graphql-transport-ws socket and report whether the handshake passed.
WEBSOCKET_PROBE = """
const [url, done] = arguments;
const socket = new WebSocket(url, 'graphql-transport-ws');
let opened = false;
socket.onopen = () => { opened = true; socket.close(1000); };
socket.onclose = (event) => done({opened, code: event.code});
"""
STORED_ANYWHERE = """
return JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.cookie;
"""


def text_of(driver: webdriver.Chrome, element_id: str) -> str:
    return str(driver.find_element(By.ID, element_id).text)


def resource_names(driver: webdriver.Chrome) -> list[str]:
    rows = driver.find_elements(By.CSS_SELECTOR, "#resources tr td:first-child")
    return [row.text for row in rows]


def log_in(driver: webdriver.Chrome) -> None:
    driver.find_element(By.ID, "email").send_keys(EMAIL)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login").click()


def probe_websocket(driver: webdriver.Chrome, api: str) -> dict[str, Any]:
    result: dict[str, Any] = driver.execute_async_script(
        WEBSOCKET_PROBE, api.replace("http", "ws", 1) + "/graphql"
    )
    return result


def test_the_dashboard_works_from_an_allowed_origin_and_not_from_another(
    sqlite_template: SqliteTemplate,
    tmp_path: Path,
    aws_standin: AwsStandIn,
    chromium: webdriver.Chrome,
) -> None:
    chromium.set_script_timeout(30)
    with static_site(DASHBOARD) as page_origin, static_site(DASHBOARD) as foreign_origin:
        # given the API allowing only the dashboard's origin, and a user with an AWS credential
        settings = make_settings(
            sqlite_template.clone(tmp_path),
            tmp_path,
            allowed_origins=[page_origin],
            aws_endpoint_url=aws_standin.endpoint_url,
            aws_sync_regions=[REGION],  # one region keeps the sync short
        )
        with live_api(settings) as api:
            seed_account(api, EMAIL)
            page = f"/index.html?api={api}/graphql&pageSize={PAGE_SIZE}"

            # when the user logs in on the dashboard
            chromium.get(page_origin + page)
            wait_until(chromium, lambda d: d.execute_script("return document.body.dataset.ready"))
            log_in(chromium)

            # then the cross-origin, preflighted calls carrying the token succeeded
            wait_until(chromium, lambda d: text_of(d, "who") == f"logged in as {EMAIL}")
            # and the token was kept in memory only
            assert chromium.execute_script(STORED_ANYWHERE) == "{}{}"

            # when a sync is started, its progress arrives over the WebSocket until it ends
            chromium.find_element(By.ID, "sync").click()
            wait_until(chromium, lambda d: "added" in text_of(d, "sync-status"))
            assert text_of(chromium, "sync-status").startswith("SUCCEEDED")
            assert chromium.find_element(By.ID, "sync-progress").get_attribute("value") == "100"

            # then the resources come page by page
            wait_until(chromium, lambda d: len(resource_names(d)) == PAGE_SIZE)
            first_page = resource_names(chromium)
            chromium.find_element(By.ID, "next").click()
            wait_until(chromium, lambda d: text_of(d, "page") == "page 2")
            second_page = resource_names(chromium)
            assert second_page and not set(second_page) & set(first_page)
            chromium.find_element(By.ID, "prev").click()
            wait_until(chromium, lambda d: text_of(d, "page") == "page 1")
            assert resource_names(chromium) == first_page
            total = int(text_of(chromium, "total").strip("()"))
            expected = len(aws_standin.instance_ids) + len(aws_standin.bucket_names)
            assert total >= expected
            save_screenshot(chromium, "dashboard-allowed-origin")
            assert probe_websocket(chromium, api)["opened"] is True

            # when the same page is served from an origin that is not allowed
            chromium.get(foreign_origin + page)
            wait_until(chromium, lambda d: d.execute_script("return document.body.dataset.ready"))
            log_in(chromium)

            # then the browser gets no answer (CORS) and the WebSocket handshake is refused
            wait_until(chromium, lambda d: "login failed" in text_of(d, "status"))
            assert "CORS" in text_of(chromium, "status")
            assert text_of(chromium, "who") == "not logged in"
            refused = probe_websocket(chromium, api)
            assert refused["opened"] is False
            assert refused["code"] == 1006
            save_screenshot(chromium, "dashboard-foreign-origin")
