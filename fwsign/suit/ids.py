"""Vendor and class identifiers: RFC 4122 UUIDv5 names, as draft-ietf-suit-manifest recommends.

Kept apart from the builder so the verify path can derive ids without importing it.
"""

from __future__ import annotations

import uuid

__all__ = ["class_uuid", "vendor_uuid"]


def vendor_uuid(domain: str) -> bytes:
    """vendor-id = UUIDv5(DNS namespace, vendor domain), as SUIT and imgtool derive it."""
    return uuid.uuid5(uuid.NAMESPACE_DNS, domain).bytes


def class_uuid(vendor_id: bytes, class_name: str) -> bytes:
    """class-id = UUIDv5(vendor-id, model or class name)."""
    return uuid.uuid5(uuid.UUID(bytes=vendor_id), class_name).bytes
