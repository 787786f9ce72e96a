"""The web adapter: a thin HTTP caller of the command core (``core.commands``), like the bots.

* The REST API: ``bot.web.app.create_app`` builds one FastAPI app for a set of services; each router
  in ``bot.web.routes`` calls the same core functions the chat calls, behind a gate that reads the
  permission table (``bot.web.auth``); errors are RFC 9457 problem documents (``bot.web.problems``).
* The dashboard: ``bot.web.dashboard`` serves server-rendered pages (admin, treasurer, public) over
  ``core.reports``, with one-time-link sign-in, sessions and CSRF.
"""
