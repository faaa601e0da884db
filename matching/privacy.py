"""Masking personal data (phones, emails, names) for logs, messages, reports and explanations."""

from __future__ import annotations

from typing import Any


def mask(value: Any) -> str:
    """A value with most characters hidden: ``j***e@example.com``, ``+1********00``."""
    text = str(value)
    if "@" in text:
        local, _, domain = text.partition("@")
        return (local[:1] + "***" + local[-1:] if len(local) > 2 else "***") + "@" + domain
    if len(text) <= 4:
        return "*" * len(text)
    keep = max(1, len(text) // 5)
    return text[:keep] + "*" * (len(text) - 2 * keep) + text[-keep:]
