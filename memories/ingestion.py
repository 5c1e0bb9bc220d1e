"""Reading source documents and cutting them into content-addressed chunks (pure, no database).

Markdown (``#`` headings), reStructuredText (underlined headings, an optional RFC-822
style header block first, as in PEPs) and plain text. A section always starts a new
chunk; paragraphs of one section are packed together up to ``max_chars``; an oversize
paragraph is split at sentence ends, and a sentence still too long is split hard.
"""

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
RST_SUFFIXES = frozenset({".rst", ".rest"})
TEXT_SUFFIXES = frozenset({".txt", ".text"})
SUFFIXES = MARKDOWN_SUFFIXES | RST_SUFFIXES | TEXT_SUFFIXES

_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_RST_ADORNMENT = re.compile(r"^([!-/:-@\[-`{-~])\1+\s*$")
_HEADER_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9-]*:(\s|$)")
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*(\s+)")


@dataclass
class Section:
    heading: str = ""
    paragraphs: list[str] = field(default_factory=list)


@dataclass
class ParsedDocument:
    title: str
    sections: list[Section]


@dataclass(frozen=True)
class Chunk:
    id: str
    ordinal: int
    text: str


class NotText(ValueError):
    """The file is not UTF-8 text; the message says where it fails."""


def read_text(path: Path) -> tuple[str, str]:
    """The file's text and the SHA-256 of its bytes.

    UTF-8 with a byte order mark dropped; NUL characters (which PostgreSQL text cannot
    hold) become U+FFFD. Raises NotText for bytes that are not UTF-8 (a binary file, or
    text in another encoding), rather than storing a text with holes in it.
    """
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        offset = exc.start + len(data) - len(exc.object)  # exc.object lacks a byte order mark
        raise NotText(f"not UTF-8 text (byte 0x{data[offset]:02x} at offset {offset})") from None
    return text.replace("\x00", "\ufffd"), hashlib.sha256(data).hexdigest()


def is_document(path: Path) -> bool:
    return path.suffix.lower() in SUFFIXES


def _paragraphs(lines: list[str]) -> list[str]:
    """Blocks of lines separated by blank lines, trailing white space removed."""
    paragraphs, current = [], []
    for line in lines:
        if line.strip():
            current.append(line.rstrip())
        elif current:
            paragraphs.append("\n".join(current))
            current = []
    if current:
        paragraphs.append("\n".join(current))
    return paragraphs


def _sections(blocks: list[tuple[str, str, list[str]]]) -> list[Section]:
    """(heading, its lines as written, body lines) as sections.

    The heading as written (an RST title with its underline) is the section's first
    paragraph, so a chunk holds the document's text as it reads, markup included.
    """
    sections = []
    for heading, written, body in blocks:
        paragraphs = ([written] if written else []) + _paragraphs(body)
        if paragraphs:
            sections.append(Section(heading=heading, paragraphs=paragraphs))
    return sections


def parse_markdown(text: str, *, fallback_title: str = "") -> ParsedDocument:
    """``#`` headings start sections; lines inside fenced code blocks are never headings."""
    blocks: list[tuple[str, str, list[str]]] = [("", "", [])]
    fence = None
    for line in text.splitlines():
        opening = _FENCE.match(line)
        if opening and (fence is None or opening.group(1) == fence):
            fence = opening.group(1) if fence is None else None
        elif fence is None and (heading := _ATX_HEADING.match(line)):
            blocks.append(((heading.group(2) or "").strip(), line.strip(), []))
            continue
        blocks[-1][2].append(line)
    sections = _sections(blocks)
    first_heading = next((s.heading for s in sections if s.heading), "")
    return ParsedDocument(title=first_heading or fallback_title, sections=sections)


def _split_rst_header(lines: list[str]) -> tuple[dict[str, str], list[str], list[str]]:
    """An RFC-822 style field block at the very top (``PEP: 572``), its fields and the rest."""
    if not lines or not _HEADER_FIELD.match(lines[0]):
        return {}, [], lines
    fields: dict[str, str] = {}
    name = ""
    end = len(lines)
    for index, line in enumerate(lines):
        if not line.strip():
            end = index
            break
        if line[0].isspace() and name:
            fields[name] = f"{fields[name]} {line.strip()}"
        elif _HEADER_FIELD.match(line):
            name, _, value = line.partition(":")
            fields[name] = value.strip()
        else:
            return {}, [], lines  # not a header block after all
    return fields, lines[:end], lines[end:]


def _is_rst_title(lines: list[str], index: int) -> bool:
    """``lines[index]`` is a title: text underlined by one repeated punctuation mark.

    An underline is at least as long as the title; the title is unindented unless it
    has an overline too (the same adornment on the line before).
    """
    if index + 1 >= len(lines):
        return False
    title, underline = lines[index], lines[index + 1]
    if not title.strip() or _RST_ADORNMENT.match(title) or not _RST_ADORNMENT.match(underline):
        return False
    overlined = index > 0 and lines[index - 1] == underline
    if title[0].isspace() and not overlined:
        return False
    return len(underline.rstrip()) >= len(title.strip() if overlined else title.rstrip())


def parse_rst(text: str, *, fallback_title: str = "") -> ParsedDocument:
    """Underlined (optionally overlined) titles start sections; a header block is a preamble."""
    fields, header, lines = _split_rst_header(text.splitlines())
    blocks: list[tuple[str, str, list[str]]] = [("", "", header + [""])]
    index = 0
    while index < len(lines):
        if _is_rst_title(lines, index):
            written = [lines[index].rstrip(), lines[index + 1].rstrip()]
            body = blocks[-1][2]
            if body and body[-1] == lines[index + 1]:  # an overline belongs to the title
                written.insert(0, body.pop().rstrip())
            blocks.append((lines[index].strip(), "\n".join(written), []))
            index += 2
            continue
        blocks[-1][2].append(lines[index])
        index += 1
    sections = _sections(blocks)
    first_heading = next((s.heading for s in sections if s.heading), "")
    return ParsedDocument(title=fields.get("Title") or first_heading or fallback_title, sections=sections)


def parse_text(text: str, *, fallback_title: str = "") -> ParsedDocument:
    """Plain text: one section of paragraphs."""
    return ParsedDocument(title=fallback_title, sections=_sections([("", "", text.splitlines())]))


def parse(name: str, text: str) -> ParsedDocument:
    """Parse by the file name's suffix; the file name is the title of last resort."""
    suffix = Path(name).suffix.lower()
    fallback = Path(name).name
    if suffix in MARKDOWN_SUFFIXES:
        return parse_markdown(text, fallback_title=fallback)
    if suffix in RST_SUFFIXES:
        return parse_rst(text, fallback_title=fallback)
    return parse_text(text, fallback_title=fallback)


def _sentence_spans(paragraph: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the paragraph's sentences, white space between them left out."""
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(paragraph):
        spans.append((start, match.start(1)))
        start = match.end(1)
    return spans + [(start, len(paragraph))]


def _hard_spans(paragraph: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Cut ``paragraph[start:end]`` into pieces of at most ``max_chars``, at white space if it can."""
    spans = []
    while end - start > max_chars:
        window = paragraph[start + max_chars // 2 : start + max_chars + 1]
        space = max(window.rfind(" "), window.rfind("\n"))
        cut = start + max_chars // 2 + space if space > 0 else start + max_chars
        spans.append((start, cut))
        start = cut
        while start < end and paragraph[start].isspace():
            start += 1
    return spans + [(start, end)]


def split_paragraph(paragraph: str, max_chars: int) -> list[str]:
    """The paragraph itself, or pieces of it of at most ``max_chars``, cut at sentence ends first."""
    if len(paragraph) <= max_chars:
        return [paragraph]
    pieces: list[str] = []
    first = last = None
    for sentence_start, sentence_end in _sentence_spans(paragraph):
        for start, end in _hard_spans(paragraph, sentence_start, sentence_end, max_chars):
            if first is not None and end - first <= max_chars:
                last = end
                continue
            if first is not None:
                pieces.append(paragraph[first:last])
            first, last = start, end
    return pieces + [paragraph[first:last]]


def pack_section(paragraphs: list[str], max_chars: int) -> list[str]:
    """Consecutive paragraphs joined by a blank line, each chunk at most ``max_chars``."""
    chunks: list[str] = []
    current = ""
    for paragraph in paragraphs:
        for unit in split_paragraph(paragraph, max_chars):
            candidate = f"{current}\n\n{unit}" if current else unit
            if len(candidate) <= max_chars:
                current = candidate
            else:
                chunks.append(current)
                current = unit
    return chunks + ([current] if current else [])


def chunk_id(path: str, text: str, occurrence: int = 0) -> str:
    """SHA-256 of document path and chunk text; repeats of a text in one document count up."""
    suffix = f"\x00{occurrence}" if occurrence else ""
    return hashlib.sha256(f"{path}\x00{text}{suffix}".encode()).hexdigest()


def chunk_document(path: str, document: ParsedDocument, *, max_chars: int) -> list[Chunk]:
    """The document's chunks in order, with content-addressed ids unique within the document."""
    seen: dict[str, int] = {}
    chunks = []
    for section in document.sections:
        for text in pack_section(section.paragraphs, max_chars):
            occurrence = seen.get(text, 0)
            seen[text] = occurrence + 1
            chunks.append(Chunk(id=chunk_id(path, text, occurrence), ordinal=len(chunks), text=text))
    return chunks
