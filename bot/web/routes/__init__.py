"""One small router per area; ``bot.web.app`` mounts the ones a service needs."""

from typing import Any

from fastapi import APIRouter

from bot.web.problems import ProblemRoute
from bot.web.schemas import PROBLEM_RESPONSES

#: Route options for public routes: a key is optional (an empty security requirement is allowed).
PUBLIC: dict[str, Any] = {"openapi_extra": {"security": [{}]}}  # appended to the bearer scheme


def router(tag: str) -> APIRouter:
    """An API router whose errors are problem documents (documented in the OpenAPI schema)."""
    return APIRouter(tags=[tag], route_class=ProblemRoute, responses=PROBLEM_RESPONSES)
