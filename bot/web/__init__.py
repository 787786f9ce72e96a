"""The REST API: a thin HTTP adapter over the command core (``core.commands``), like the bots.

``bot.web.app.create_app`` builds one FastAPI app for a set of services; each router in
``bot.web.routes`` calls the same core functions the chat calls, behind a gate that reads the
permission table (``bot.web.auth``); errors are RFC 9457 problem documents (``bot.web.problems``).
"""
