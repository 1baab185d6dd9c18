"""Session-wide test settings."""

from __future__ import annotations

import os

from cryptography.fernet import Fernet

# Stored secrets are encrypted (catalog/secrets.py): every test process, and every server or CLI a
# test starts, gets one key unless the environment already names one.
os.environ.setdefault("FLEXPRICE_SECRET_KEYS", Fernet.generate_key().decode())
