"""Reorder a fixture's records and elements without changing what it says, per format.

The contract kit uses these to prove that an adapter's record hashes do not depend on order.
"""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

from lxml import etree


def shuffle_xml(data: bytes, rng: random.Random) -> bytes:
    """Shuffle the children of every element whose children are all elements (lists, records, sub-lists)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)
    root = etree.fromstring(data, parser)
    for el in root.iter():
        children = [c for c in el if isinstance(c.tag, str)]
        if len(children) > 1 and len(children) == len(el) and not (el.text or "").strip():
            rng.shuffle(children)
            for c in list(el):
                el.remove(c)
            for c in children:
                el.append(c)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def shuffle_csv_rows(data: bytes, rng: random.Random, header_rows: int = 1, encoding: str = "utf-8") -> bytes:
    """Shuffle the data rows of a CSV, keeping its first `header_rows` lines in place."""
    text = data.decode(encoding)
    lines = text.splitlines(keepends=True)
    head, body = lines[:header_rows], lines[header_rows:]
    rows = list(csv.reader(io.StringIO("".join(body))))
    rng.shuffle(rows)
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return ("".join(head) + out.getvalue()).encode(encoding)


def shuffle_lines(data: bytes, rng: random.Random, header_rows: int = 0) -> bytes:
    lines = data.splitlines(keepends=True)
    if lines and not lines[-1].endswith(b"\n"):
        lines[-1] += b"\n"
    head, body = lines[:header_rows], lines[header_rows:]
    rng.shuffle(body)
    return b"".join(head + body)


def shuffle_json_list(data: bytes, rng: random.Random, path: str = "") -> bytes:
    """Shuffle a JSON array found at a dotted path ("" = the document itself)."""
    doc = json.loads(data)
    target = doc
    for part in filter(None, path.split(".")):
        target = target[part]
    rng.shuffle(target)
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


SHUFFLERS = {
    "xml": shuffle_xml,
    "csv": shuffle_csv_rows,
    "lines": shuffle_lines,
    "json": shuffle_json_list,
}


def shuffle_file(src: Path, dst: Path, mode: str, rng: random.Random, **kwargs: object) -> None:
    dst.write_bytes(SHUFFLERS[mode](src.read_bytes(), rng, **kwargs))


def shuffle_xlsx_rows(data: bytes, rng: random.Random, header_rows: int = 1) -> bytes:
    """Shuffle the data rows of every sheet of a workbook (values only)."""
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(data))
    for ws in wb.worksheets:
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        head, body = rows[:header_rows], rows[header_rows:]
        rng.shuffle(body)
        ws.delete_rows(1, ws.max_row)
        for r in head + body:
            ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


SHUFFLERS["xlsx"] = shuffle_xlsx_rows
