"""WSGI entry point: `gunicorn wsgi:app`."""

from registry.app import create_app

app = create_app()
