"""The start of a file as UTF-8 bytes whatever its Unicode encoding, for sniffing formats and reading headers.

A publisher may serve UTF-16 XML with its declaration: valid, and to be read like its UTF-8 twin.
"""

from __future__ import annotations

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def as_utf8(head: bytes) -> bytes:
    """The start of a file as UTF-8 bytes without BOM: UTF-16/32 (with a BOM, or XML's `<` without one) is
    re-encoded, so that format sniffing and safety checks read a UTF-16 XML file as they read a UTF-8 one."""
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return head[len(bom) :].decode(encoding, errors="ignore").encode("utf-8")
    if head.startswith(b"<\x00") and not head.startswith(b"<\x00\x00"):
        return head.decode("utf-16-le", errors="ignore").encode("utf-8")
    if head.startswith(b"\x00<"):
        return head.decode("utf-16-be", errors="ignore").encode("utf-8")
    return head
