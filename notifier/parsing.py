"""Safe, streaming readers that adapters share, so each adapter is only about its format's meaning.

XML is read without entity expansion, DTD loading or network access (billion-laughs and XXE inputs
fail as a ParseError instead of expanding); errors of any reader become ParseError with a clear message.
"""

from __future__ import annotations

import csv
import io
import re
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lxml import etree

from notifier.adapter import ParseError, sniff
from notifier.dates import iso_date as iso_date  # the one date parser, for adapters
from notifier.encoding import as_utf8

_XML_OPTS = dict(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True)


def local(tag: object) -> str:
    """Tag name without its namespace ("{ns}sdnEntry" -> "sdnEntry")."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


_ENTITIES = "XML declares entities (DTD); refused: sanctions lists never need them"


def _refuse_entities(path: Path) -> None:
    """A quick look at the head of the file; `_refuse_dtd` catches a DTD pushed further down."""
    with open(path, "rb") as fh:
        head = as_utf8(fh.read(65536))
    if b"<!ENTITY" in head or b"<!entity" in head:
        raise ParseError(_ENTITIES)


def _refuse_dtd(el: etree._Element) -> None:
    """Entities declared after a long comment escape the head check; the parser's own view of the DTD does not.

    Unexpanded, an entity silently blanks text (a name changes, an alert goes out), so the file is refused.
    """
    dtd = el.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.entities()):
        raise ParseError(_ENTITIES)


def iter_xml(path: Path, tags: set[str] | str) -> Iterator[etree._Element]:
    """Stream the elements with these local names; each is cleared after the caller is done with it."""
    wanted = {tags} if isinstance(tags, str) else set(tags)
    _refuse_entities(path)
    try:
        checked = False
        for _event, el in etree.iterparse(str(path), events=("end",), **_XML_OPTS):
            if not checked:
                _refuse_dtd(el)
                checked = True
            if local(el.tag) in wanted:
                yield el
                el.clear(keep_tail=False)
                parent = el.getparent()
                if parent is not None:
                    while el.getprevious() is not None:
                        del parent[0]
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"not well-formed XML: {exc}") from exc


def parse_xml(path: Path) -> etree._Element:
    """The whole document (for small files whose meaning needs cross-references)."""
    _refuse_entities(path)
    try:
        root = etree.parse(str(path), etree.XMLParser(**_XML_OPTS)).getroot()
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"not well-formed XML: {exc}") from exc
    _refuse_dtd(root)
    return root


def root_tag(path: Path) -> str:
    """Local name of the document element, read from the start of the file only."""
    _refuse_entities(path)
    try:
        for _event, el in etree.iterparse(str(path), events=("start",), **_XML_OPTS):
            _refuse_dtd(el)
            return local(el.tag)
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"not well-formed XML: {exc}") from exc
    raise ParseError("empty XML document")


def expect_root(path: Path, expected: str, what: str) -> None:
    """Refuse a file that is not XML with this root element (another list, a JSON error, a CSV export): the check
    an XML adapter makes before it streams; `what` names the list in the message."""
    head = sniff(path)
    if not head.startswith(b"<"):
        raise ParseError(f"{what}: not XML (starts with {head[:40]!r})")
    root = root_tag(path)
    if root != expected:
        raise ParseError(f"{what}: root element is <{root}>, expected <{expected}>")


def child_text(el: etree._Element, name: str) -> str | None:
    """Stripped text of the first child with this local name, or None when absent or blank."""
    for child in el:
        if local(child.tag) == name:
            text = (child.text or "").strip()
            return text or None
    return None


def children(el: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in el if local(c.tag) == name]


def descendants(el: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in el.iter() if local(c.tag) == name]


def decode(data: bytes, encodings: tuple[str, ...] = ("utf-8-sig", "cp1252")) -> str:
    """Text in the first encoding that decodes it; a ParseError names the encodings tried."""
    return decode_as(data, encodings)[0]


def decode_as(data: bytes, encodings: tuple[str, ...] = ("utf-8-sig", "cp1252")) -> tuple[str, str]:
    """decode, and the encoding that decoded it."""
    for enc in encodings:
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError:
            continue
    raise ParseError(f"text is in none of the expected encodings ({', '.join(encodings)})")


@contextmanager
def open_text(path: Path, encodings: tuple[str, ...] = ("utf-8-sig", "cp1252")) -> Iterator[io.StringIO]:
    """A text stream of a whole file in the first encoding that decodes it."""
    yield io.StringIO(decode(Path(path).read_bytes(), encodings), newline="")


def csv_rows(path: Path, encodings: tuple[str, ...] = ("utf-8-sig", "cp1252"), **fmt: object) -> Iterator[list[str]]:
    """CSV rows, with csv errors as ParseError naming the line."""
    with open_text(path, encodings) as fh:
        reader = csv.reader(fh, **fmt)
        try:
            yield from reader
        except csv.Error as exc:
            raise ParseError(f"bad CSV at line {reader.line_num}: {exc}") from exc


def xlsx_sheets(path: Path) -> Iterator[tuple[str, Iterator[tuple]]]:
    """(sheet name, rows of values) for every sheet of a workbook, read-only and streaming."""
    import zipfile

    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    # A file object, not the path: openpyxl judges a path by its extension, and snapshots are temp files.
    with open(path, "rb") as fh:
        try:
            wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
            raise ParseError(f"not a readable XLSX workbook: {exc}") from exc
        try:
            for ws in wb.worksheets:
                yield ws.title, ws.iter_rows(values_only=True)
        finally:
            wb.close()


def cell(value: object) -> str | None:
    """A spreadsheet or CSV cell as stripped text, None when empty."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


PDF_MAX_PAGES = 3000
_STREAM = re.compile(rb"stream\r?\n")


def check_pdf_streams(data: bytes) -> None:
    """Every Flate-compressed stream of the file must inflate to its end with a matching checksum.

    pdfium quietly skips what it cannot inflate, so a download damaged inside a page's content would read as the
    same list with entries missing or misspelt; zlib's Adler-32 makes such damage visible.
    """
    pos, index, view = 0, 0, memoryview(data)
    while m := _STREAM.search(data, pos):
        pos = m.end()
        head = data[max(0, m.start() - 1024) : m.start()]
        start = head.rfind(b"obj")
        if not head.rstrip().endswith(b">>") or b"/FlateDecode" not in head[start:]:
            continue
        index += 1
        inflate = zlib.decompressobj()
        try:
            inflate.decompress(view[pos:], 64 << 20)
        except zlib.error as exc:
            raise ParseError(f"damaged PDF: compressed stream {index} does not inflate ({exc})") from None
        if not inflate.eof and not inflate.unconsumed_tail:
            raise ParseError(f"damaged PDF: compressed stream {index} is cut short")


def pdf_text(path: Path, max_pages: int = PDF_MAX_PAGES) -> str:
    """The text of a PDF, page after page, one text line per line, read in-process (pdfium, from a wheel).

    pdfium marks a word hyphenated across a line end with U+0002; it becomes "-" and a line break, as the
    PDF shows it. Lines lose their surrounding blanks (layout, not content). A file that is not a readable PDF
    is a ParseError, as is one with more pages than `max_pages` (no list is that long; a bomb may be).
    """
    import pypdfium2 as pdfium

    data = Path(path).read_bytes()
    if not data[:1024].lstrip().startswith(b"%PDF"):
        raise ParseError("not a PDF: the file does not start with %PDF")
    check_pdf_streams(data)
    try:
        doc = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise ParseError(f"not a readable PDF: {exc}") from exc
    try:
        if len(doc) > max_pages:
            raise ParseError(f"PDF has {len(doc)} pages, more than the {max_pages} a list may have")
        pages = []
        for index in range(len(doc)):
            try:
                page = doc[index]
                textpage = page.get_textpage()
            except pdfium.PdfiumError as exc:  # a damaged page is a damaged list, never a shorter one
                raise ParseError(f"PDF page {index + 1} of {len(doc)} is unreadable: {exc}") from exc
            try:
                pages.append(textpage.get_text_bounded())
            finally:
                textpage.close()
                page.close()
    finally:
        doc.close()
    text = "\n".join(pages).replace("\r\n", "\n").replace("\r", "\n").replace("\x02", "-\n")
    return "\n".join(line.strip() for line in text.split("\n"))


def gender(value: str | None) -> str | None:
    """A published gender as the record field holds it: "male"/"female" (from Male, M, männlich...), other values
    as published, None when blank."""
    if not value or not value.strip():
        return None
    text = value.strip()
    folded = text.lower()
    if folded in ("male", "m", "man", "männlich", "masculin", "男", "男性"):
        return "male"
    if folded in ("female", "f", "woman", "weiblich", "féminin", "女", "女性"):
        return "female"
    return text
