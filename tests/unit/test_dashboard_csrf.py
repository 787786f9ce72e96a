"""The session-bound CSRF check, property-based: only the HMAC of this browser's own session secret
passes; any other submitted value, and any value without a session cookie, is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request

from bot.web.dashboard.auth import COOKIE, PageError, check_csrf, csrf_for

SECRETS = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", min_size=20,
                  max_size=60)


def _request(cookie: str | None) -> Request:
    headers = [(b"cookie", f"{COOKIE}={cookie}".encode())] if cookie is not None else []
    return Request({"type": "http", "method": "POST", "path": "/", "headers": headers})


@given(SECRETS)
def test_the_sessions_own_token_passes(secret: str) -> None:
    token = csrf_for(secret)
    assert len(token) == 64 and token != secret
    check_csrf(_request(secret), token)


@given(SECRETS, st.text(max_size=80))
def test_anything_else_is_refused(secret: str, submitted: str) -> None:
    if submitted == csrf_for(secret):
        return
    with pytest.raises(PageError) as refused:
        check_csrf(_request(secret), submitted)
    assert refused.value.status == 403


@given(SECRETS, SECRETS)
def test_another_sessions_token_is_refused(mine: str, theirs: str) -> None:
    if mine == theirs:
        return
    with pytest.raises(PageError):
        check_csrf(_request(mine), csrf_for(theirs))
    with pytest.raises(PageError):
        check_csrf(_request(None), csrf_for(theirs))
