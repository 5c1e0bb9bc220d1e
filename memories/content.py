"""Content normalisation: the one definition of "the same text" across the store."""

import hashlib
import unicodedata


def normalize_content(text: str) -> str:
    """NFC, trimmed, runs of white space collapsed to one space; case kept."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def content_hash(text: str) -> str:
    """SHA-256 hex digest of the normalised text."""
    return hashlib.sha256(normalize_content(text).encode("utf-8")).hexdigest()
