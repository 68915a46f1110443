"""A headless stand-in for the user's browser: follows an authorization URL through the redirect
chain (the generated server's /oauth/authorize → the provider → its login and consent pages →
the server's /oauth/callback → the client's loopback redirect URI), submitting the provider's
development login/consent forms on the way, and returns the query the client's redirect URI
receives. Nothing listens on that redirect URI: the chain stops when a Location points at it."""

from __future__ import annotations

import html.parser
import urllib.parse
from dataclasses import dataclass, field

import httpx2

MAX_HOPS = 25


class _FormParser(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._current: tuple[str, dict[str, str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "get").lower() == "post":
            self._current = (a.get("action", ""), {})
        elif tag == "input" and self._current is not None and a.get("name"):
            self._current[1][a["name"]] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._current is not None:
            self.forms.append(self._current)
            self._current = None


def post_form(page: str) -> tuple[str, dict[str, str]] | None:
    """The first POST form of a page: (action, fields)."""
    parser = _FormParser()
    parser.feed(page)
    return parser.forms[0] if parser.forms else None


def same_endpoint(url: str, redirect_uri: str) -> bool:
    a, b = urllib.parse.urlsplit(url), urllib.parse.urlsplit(redirect_uri)
    return (a.scheme, a.netloc, a.path) == (b.scheme, b.netloc, b.path)


@dataclass
class Visit:
    method: str
    url: str
    status: int


@dataclass
class LoginResult:
    """What reached the client's redirect URI, and every request on the way."""

    query: dict[str, str]
    location: str
    visits: list[Visit] = field(default_factory=list)


async def log_in(authorization_url: str, redirect_uri: str, user: str = "alice") -> LoginResult:
    """Follows `authorization_url` as a browser would, logging in as `user` and consenting."""
    visits: list[Visit] = []
    async with httpx2.AsyncClient(follow_redirects=False, timeout=15) as http:
        method, url, data = "GET", authorization_url, None
        for _ in range(MAX_HOPS):
            response = await http.request(method, url, data=data)
            visits.append(Visit(method, url, response.status_code))
            method, data = "GET", None
            if response.status_code in (301, 302, 303, 307, 308):
                location = urllib.parse.urljoin(url, response.headers.get("location", ""))
                if same_endpoint(location, redirect_uri):
                    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query, keep_blank_values=True))
                    return LoginResult(query, location, visits)
                url = location
                continue
            form = post_form(response.text) if response.status_code == 200 else None
            if form is None:
                trail = " -> ".join(f"{v.method} {v.url} [{v.status}]" for v in visits)
                raise AssertionError(
                    f"the login chain stopped at HTTP {response.status_code} {url}: {response.text[:600]!r}\n"
                    f"trail: {trail}"
                )
            action, fields = form
            if fields.get("prompt") == "login":
                fields.update(login=user, password="any password")
            method, url, data = "POST", urllib.parse.urljoin(url, action), fields
        raise AssertionError(f"no redirect to {redirect_uri} after {MAX_HOPS} hops: {visits}")
