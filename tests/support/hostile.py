"""Damaged copies of real publications, made the way real downloads break (bytes in, bytes out).

Used by tests/test_guard_hostile.py and bench/guard_calibration.py; the real files are read from
../shared/data/real and never copied into the repository.
"""

from __future__ import annotations

import csv
import io
import re

EOF = b"\x1a"
CRLF = b"\r\n"


def sdn_rows(data: bytes) -> list[bytes]:
    """The data rows of an OFAC legacy CSV file (without its trailing end-of-file byte)."""
    body = data.rstrip(EOF).rstrip(b"\r\n")
    return body.split(CRLF)


def sdn_join(rows: list[bytes], marker: bool = True) -> bytes:
    return CRLF.join(rows) + CRLF + (EOF if marker else b"")


def truncate_rows(data: bytes, fraction: float, marker: bool) -> bytes:
    """Cut an OFAC CSV at a row boundary, keeping `fraction` of its rows, with or without the end byte."""
    rows = sdn_rows(data)
    return sdn_join(rows[: int(len(rows) * fraction)], marker)


def _rewrite(data: bytes, edit) -> bytes:  # noqa: ANN001 - a row -> row function
    rows = []
    for raw in sdn_rows(data):
        [row] = list(csv.reader(io.StringIO(raw.decode("utf-8"))))
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow(edit(row))
        rows.append(out.getvalue().encode("utf-8"))
    return sdn_join(rows)


def swap_columns(data: bytes, i: int, j: int) -> bytes:
    """Two columns of every row swapped (an export whose column order changed)."""

    def edit(row: list[str]) -> list[str]:
        row[i], row[j] = row[j], row[i]
        return row

    return _rewrite(data, edit)


def rekey_csv(data: bytes, shift: int) -> bytes:
    """Every ent_num shifted by `shift` (a renumbered or misaligned export)."""

    def edit(row: list[str]) -> list[str]:
        row[0] = str(int(row[0]) + shift)
        return row

    return _rewrite(data, edit)


def pad_keys_csv(data: bytes) -> bytes:
    """Every ent_num written with leading zeros (`036` for `36`): the same records."""

    def edit(row: list[str]) -> list[str]:
        row[0] = row[0].strip().zfill(6)
        return row

    return _rewrite(data, edit)


def rekey_xml(data: bytes, tag: bytes, shift: int) -> bytes:
    """Every <tag>n</tag> id shifted by `shift` (UN DATAID, OFAC uid)."""
    pattern = re.compile(rb"<" + tag + rb">(\d+)</" + tag + rb">")
    return pattern.sub(lambda m: b"<%s>%d</%s>" % (tag, int(m.group(1)) + shift, tag), data)


def rename_element(data: bytes, old: bytes, new: bytes) -> bytes:
    """An element renamed in every record (`<program>` -> `<sanctionsProgram>`)."""
    return data.replace(b"<" + old + b">", b"<" + new + b">").replace(b"</" + old + b">", b"</" + new + b">")


def keep_xml_entries(data: bytes, tag: bytes, fraction: float) -> bytes:
    """An XML list cut at an entry boundary and closed again, well-formed, with `fraction` of its entries."""
    starts = [m.start() for m in re.finditer(rb"<" + tag + rb"[ >]", data)]
    keep = int(len(starts) * fraction)
    cut = starts[keep]
    end = data.rfind(b"</" + tag + b">")
    close = data.index(b">", end) + 1
    return data[:cut] + data[close:]


def lossy_question_marks(data: bytes) -> bytes:
    """Non-ASCII letters replaced by '?' (a download re-encoded to ASCII on the way)."""
    return data.decode("utf-8").encode("ascii", errors="replace")


def lossy_replacement_chars(data: bytes) -> bytes:
    """UTF-8 bytes decoded as ASCII with replacement: every non-ASCII byte becomes U+FFFD."""
    return data.decode("ascii", errors="replace").encode("utf-8")
