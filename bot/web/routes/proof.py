"""The proof of liabilities (the exchange service): the latest published Merkle-sum root (public)
and a wallet's inclusion proof (its organisation's members), verifiable offline with
``arena proof verify``. Thin: each route is one call of :mod:`core.commands.api_exchange`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from bot.web.auth import Caller, Gate, caller_ctx
from bot.web.routes import PUBLIC, router
from bot.web.routes.wallet import WalletId
from bot.web.schemas_exchange import ProofRootOut, WalletProofOut
from core.commands import api_exchange

api = router("proof")


@api.get("/api/proof/latest", response_model=ProofRootOut, **PUBLIC)
def latest(request: Request, caller: Annotated[Caller, Depends(Gate("proof_root", public=True))]) -> Any:
    """The latest published proof of liabilities: root, date, leaf count, totals per asset and the
    ledger chain head it covers (public; 404 before the first publication)."""
    with caller_ctx(request, caller) as ctx:
        return api_exchange.latest_root(ctx)


@api.get("/api/wallet/{id}/proof", response_model=WalletProofOut)
def wallet_proof(request: Request, caller: Annotated[Caller, Depends(Gate("proof"))], id: WalletId) -> Any:
    """Your wallet's leaf (balances, secret salt) and Merkle path to the latest published root."""
    with caller_ctx(request, caller) as ctx:
        return api_exchange.wallet_proof(ctx, id)
