"""GraphiQL without a CDN: serve the exact files Strawberry's IDE page loads from unpkg.

`npm ci --prefix tools/graphiql` installs those packages at the versions the page names; the
page is then rewritten to load them from `/graphiql-assets/…` on this server. The page's
Subresource Integrity hashes stay as they are: the npm files are the ones unpkg serves, so the
browser still verifies every byte. Without the install the page keeps its CDN addresses.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response

CDN_PREFIX = "https://unpkg.com/"
ROUTE_PREFIX = "/graphiql-assets/"
DEFAULT_PACKAGES = Path(__file__).resolve().parent.parent / "tools" / "graphiql" / "node_modules"
# e.g. https://unpkg.com/@graphiql/plugin-explorer@1.0.2/dist/index.umd.js
_CDN_URL = re.compile(r"https://unpkg\.com/((?:@[\w.-]+/)?[\w.-]+)@([\w.-]+)/([\w./-]+)")


@dataclass(frozen=True)
class LocalAssets:
    html: str
    files: dict[str, Path]  # path below ROUTE_PREFIX -> file on disk

    async def serve(self, request: Request) -> Response:
        found = self.files.get(request.path_params["path"])
        if found is None:
            return Response("Not Found", status_code=404, media_type="text/plain")
        return FileResponse(found, headers={"cache-control": "public, max-age=86400"})


def _installed_version(packages: Path, name: str) -> str | None:
    manifest = packages / name / "package.json"
    if not manifest.is_file():
        return None
    return str(json.loads(manifest.read_text(encoding="utf-8")).get("version"))


def localize(html: str, packages: Path = DEFAULT_PACKAGES) -> LocalAssets | None:
    """The page rewritten to local files, or None unless every file it needs is installed at
    exactly the version it names (anything less and the IDE would half-load)."""
    files: dict[str, Path] = {}
    for match in _CDN_URL.finditer(html):
        name, version, file = match.groups()
        path = (packages / name / file).resolve()
        if _installed_version(packages, name) != version or not path.is_file():
            return None
        if not path.is_relative_to(packages.resolve()):
            return None
        files[f"{name}@{version}/{file}"] = path
    if not files:
        return None
    return LocalAssets(html.replace(CDN_PREFIX, ROUTE_PREFIX), files)
