"""Discover -> parse -> implement -> backtest -> prove -> tokenize: the strategy import pipeline.

Entry points for other areas (stable):

``parser.pipeline.run_import(uow_factory, documents, market, *, clock, parser=None, executor=None,
paper_mode="replay", settings=None, progress=False) -> ImportReport``
    Run or resume the pipeline. ``uow_factory`` is e.g. ``Database.uow``; ``documents`` an iterable
    of :class:`parser.sources.RawDocument` (``None`` = only resume pending candidates); ``market`` a
    ``backtest.MarketData`` (``backtest.load_market(path_or_None)``); ``clock`` a
    :class:`core.clock.Clock`. ``parser`` defaults to the LLM parser when ``OPENAI_API_KEY`` is set,
    else the offline parser. ``paper_mode="replay"`` paper-trades the held-out last 30 days at once
    (offline demo); ``"live"`` paper-trades day by day on ``clock`` (call again to advance).
    ``ImportReport`` counts documents, states, trials (N) and lists the new token symbols.

``parser.pipeline.example_documents(now)``
    The project's example write-ups (``parser/examples/*.txt``) for ``arena demo``.

``parser.pipeline.documents_from(source, now)``
    ``NAME`` (``parser/sources.toml``), an http(s) URL (SSRF-guarded) or a local ``.jsonl``/``.txt``.

``parser.sources.ingest_discord_message(guild_id=, channel_id=, message_id=, author_id=, content=,
created_at=, jump_url=None)``
    A forwarded Discord message as a raw document (or ``None`` when too short to be a strategy).

``parser.offline.OfflineParser`` / ``parser.llm.LLMParser`` implement
``parser.result.StrategyParser.parse(text, *, title="", source_ref=None) -> ParseResult``.

CLI: ``parser.cli.register(app)`` adds ``arena parse``, ``import``, ``candidates``, ``parse-eval``.
Nothing scraped is ever executed; see :mod:`parser.guard`.
"""
