"""The scheduling service: a FastAPI app over the day-ahead dispatch.

``api.app.create_app(settings)`` builds the app; ``vpp serve`` runs it with
uvicorn. Schedules, their materialised cases and jobs are stored through
SQLAlchemy (SQLite by default, PostgreSQL by ``VPP_DATABASE_URL``); solves run
in a pool of worker processes (:mod:`api.jobs`).
"""
