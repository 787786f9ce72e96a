"""The web adapter: the REST API and the server-rendered dashboard (thin callers of ``core``)."""
