"""The fleet collector: signed SUIT reports over HTTP into SQLite or PostgreSQL, the fleet's
figures, the status page, and halt rules that stop a rollout on what devices booted.

:mod:`.db` the database (schema in ``migrations/``), :mod:`.ingest` the pure check of one
posted report, :mod:`.app` the ASGI application, :mod:`.status` the figures,
:mod:`.page` the HTML page with server-rendered SVG plots.
"""
