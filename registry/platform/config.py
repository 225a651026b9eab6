"""Configuration from the environment, with embedded defaults that need nothing installed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

# The repository: policies, templates, static files and migrations live beside the package.
ROOT = Path(__file__).resolve().parent.parent.parent


def from_environment(instance_path: str) -> dict[str, Any]:
    instance = Path(instance_path)
    return {
        "DATABASE_URL": os.environ.get(
            "DATABASE_URL", f"sqlite:///{instance / 'gatehouse.sqlite3'}"
        ),
        "DATA_DIR": os.environ.get("GATEHOUSE_DATA_DIR", str(instance / "data")),
        "POLICY": os.environ.get("GATEHOUSE_POLICY", "default"),
        "POLICY_DIR": os.environ.get(
            "GATEHOUSE_POLICY_DIR", str(ROOT / "policies")
        ),
        "MAX_CONTENT_LENGTH": int(os.environ.get("GATEHOUSE_MAX_UPLOAD_BYTES", 100 * 1024 * 1024)),
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL"),
        "SECRET_KEY": os.environ.get("SECRET_KEY") or _instance_secret(instance),
        # Where rate limits are counted: per process by default; redis://… shared.
        "RATELIMIT_STORAGE": os.environ.get("GATEHOUSE_RATELIMIT_STORAGE", "memory://"),
        # Refused score calls a client may make before further refusals are answered 429.
        "SCORE_REFUSAL_LIMIT": os.environ.get("GATEHOUSE_SCORE_REFUSAL_LIMIT", "30 per minute"),
        "JOB_WORKERS": int(os.environ.get("GATEHOUSE_JOB_WORKERS", 2)),
        # who the public register names for questions about the models it lists
        "TRANSPARENCY_CONTACT": os.environ.get("GATEHOUSE_TRANSPARENCY_CONTACT", ""),
        # The ledger's Ed25519 key file; unset: made on first use in the instance folder.
        "SIGNING_KEY_FILE": os.environ.get("GATEHOUSE_SIGNING_KEY_FILE") or None,
        # The master key that wraps the data keys of encryption at rest; unset: made on first use
        # in the instance folder.
        "MASTER_KEY_FILE": os.environ.get("GATEHOUSE_MASTER_KEY_FILE") or None,
        # Email (urgent events at once, a daily digest): off while unset. smtp://host:port
        # (?starttls=1), smtps://host:port; user:password@ to log in.
        "SMTP_URL": os.environ.get("GATEHOUSE_SMTP_URL") or None,
        "MAIL_SENDER": os.environ.get("GATEHOUSE_MAIL_SENDER", "gatehouse@localhost"),
        # webhooks to loopback or private addresses (a receiver inside the register's own
        # network): refused unless the deployment says otherwise
        "WEBHOOK_PRIVATE": os.environ.get("GATEHOUSE_WEBHOOK_PRIVATE", "").lower()
        in ("1", "true", "yes"),
    }


def private_folder(path: Path) -> Path:
    """Create the folder if need be, readable by the service's own user alone (0700)."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def private_file(path: Path) -> None:
    """Create the file if need be, readable by the service's own user alone (0600); never a
    moment world-readable, as writing first and changing the mode after would be."""
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    path.chmod(0o600)


def _instance_secret(instance: Path) -> str:
    """A random secret kept in the instance folder, so sessions survive restarts."""
    path = instance / "secret_key"
    if not path.exists() or not path.read_text().strip():
        private_folder(instance)
        private_file(path)
        path.write_text(os.urandom(32).hex())
    return path.read_text().strip()
