"""Which GraphiQL page the development server serves: local files only when all are installed."""

from __future__ import annotations

import json
from pathlib import Path

from graph.graphiql_assets import ROUTE_PREFIX, localize

PAGE = """
<script src="https://unpkg.com/react@18.2.0/umd/react.production.min.js"></script>
<link href="https://unpkg.com/@graphiql/plugin-explorer@1.0.2/dist/style.css" rel="stylesheet">
"""


def install(packages: Path, name: str, version: str, file: str) -> None:
    folder = packages / name
    (folder / file).parent.mkdir(parents=True, exist_ok=True)
    (folder / file).write_text("/* asset */")
    (folder / "package.json").write_text(json.dumps({"name": name, "version": version}))


def test_every_file_installed_at_the_named_version_makes_the_page_local(tmp_path: Path) -> None:
    # given both packages installed at the versions the page names
    install(tmp_path, "react", "18.2.0", "umd/react.production.min.js")
    install(tmp_path, "@graphiql/plugin-explorer", "1.0.2", "dist/style.css")

    # when the page is localized
    local = localize(PAGE, tmp_path)

    # then it points at this server and serves exactly those files
    assert local is not None
    assert "unpkg.com" not in local.html
    assert f'src="{ROUTE_PREFIX}react@18.2.0/umd/react.production.min.js"' in local.html
    assert sorted(local.files) == [
        "@graphiql/plugin-explorer@1.0.2/dist/style.css",
        "react@18.2.0/umd/react.production.min.js",
    ]


def test_a_missing_file_or_another_version_keeps_the_cdn_page(tmp_path: Path) -> None:
    # given react at another version than the page names, and no explorer plugin
    install(tmp_path, "react", "18.3.1", "umd/react.production.min.js")

    # when the page is localized, then nothing is served locally
    assert localize(PAGE, tmp_path) is None
    # and with nothing installed at all, neither
    assert localize(PAGE, tmp_path / "empty") is None
