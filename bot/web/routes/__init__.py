"""One small router per area; ``bot.web.app`` mounts the ones a service needs."""

from fastapi import APIRouter

from bot.web.problems import ProblemRoute
from bot.web.schemas import PROBLEM_RESPONSES


def router(tag: str) -> APIRouter:
    """An API router whose errors are problem documents (documented in the OpenAPI schema)."""
    return APIRouter(tags=[tag], route_class=ProblemRoute, responses=PROBLEM_RESPONSES)
