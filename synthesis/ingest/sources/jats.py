"""PMC Open Access article packages: one JATS XML article and its images.

The package is a `.tar.gz` (as PMC ships it) or a folder. The XML is parsed
with entity expansion, DTD loading and network access off; an internal DTD
subset that declares entities (XXE, billion laughs) is refused outright.
Each `<fig>` becomes one record per `<graphic>`, with its caption and the
sentences of the body that cite it through `<xref ref-type="fig">`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from lxml import etree

from synthesis.ingest.sources import archives
from synthesis.ingest.sources.mentions import mentions_by_figure
from synthesis.ingest.sources.records import (
    DocumentInfo,
    FigureRecord,
    ImportLimits,
    Reason,
    Record,
    Skipped,
    clean_text,
    license_family,
)

XLINK = "{http://www.w3.org/1999/xlink}href"
XML_SUFFIXES = (".nxml", ".xml")
# Preferred when an href has no extension and several files share its stem.
_IMAGE_PREFERENCE = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".gif")
_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.IGNORECASE)


class UnsafeXml(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def read(path: Path, *, limits: ImportLimits) -> Iterator[Record]:
    """Yield the records of one article package (folder or tar archive)."""
    source = path.name
    if path.is_dir():
        files, skips = _folder_files(path, limits=limits)
    else:
        files, skips = _archive_files(path, limits=limits)
    yield from skips
    xml_names = sorted(name for name in files if name.lower().endswith(XML_SUFFIXES))
    if not xml_names:
        yield Skipped(Reason.XML_INVALID, source, "no .nxml or .xml file")
        return
    yield from parse_article(
        files[xml_names[0]], files=files, source=f"{source}::{xml_names[0]}"
    )


def parse_article(
    xml: bytes, *, files: dict[str, bytes], source: str
) -> Iterator[Record]:
    try:
        root = parse_xml(xml)
    except UnsafeXml as exc:
        yield Skipped(exc.reason, source, exc.detail)
        return
    document = _document(root, source=source)
    mentions = mentions_by_figure(root)
    for fig in root.iter("fig"):
        yield from _fig_records(
            fig,
            mentions=tuple(mentions.get(fig.get("id", ""), ())),
            document=document,
            files=files,
        )


def parse_xml(xml: bytes) -> etree._Element:
    """Parse untrusted XML: no entities, no DTD, no network, no huge trees."""
    prolog = xml.split(b"<article", 1)[0]
    if _ENTITY_DECLARATION.search(prolog):
        raise UnsafeXml(Reason.XML_ENTITIES, "the DTD declares entities")
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
    )
    try:
        root = etree.fromstring(xml, parser=parser)  # noqa: S320
    except etree.XMLSyntaxError as exc:
        raise UnsafeXml(Reason.XML_INVALID, str(exc)[:200]) from exc
    internal = root.getroottree().docinfo.internalDTD
    if internal is not None and any(True for _ in internal.iterentities()):
        raise UnsafeXml(Reason.XML_ENTITIES, "the DTD declares entities")
    return root


def _document(root: etree._Element, *, source: str) -> DocumentInfo:
    meta = root.find(".//article-meta")
    ids = {}
    for node in root.iterfind(".//article-meta/article-id"):
        ids.setdefault(node.get("pub-id-type", ""), clean_text(node.text))
    pmcid = ids.get("pmc") or ids.get("pmcid") or ids.get("pmcaid") or ""
    if pmcid and not pmcid.upper().startswith("PMC"):
        pmcid = f"PMC{pmcid}"
    doi = ids.get("doi", "")
    publisher_id = ids.get("publisher-id", "")
    license_url, license_text = _license(root)
    fallback = f"publisher:{publisher_id}" if publisher_id else f"jats:{source}"
    return DocumentInfo(
        source_id=pmcid or (f"doi:{doi}" if doi else fallback),
        source_kind="jats",
        pmcid=pmcid,
        doi=doi,
        title=_text(meta.find(".//title-group/article-title"))
        if meta is not None
        else "",
        journal=_text(root.find(".//journal-meta//journal-title")),
        year=_year(root),
        license=license_text[:200],
        license_url=license_url[:500],
        license_family=license_family(url=license_url, text=license_text),
    )


def _license(root: etree._Element) -> tuple[str, str]:
    permissions = root.find(".//article-meta/permissions")
    if permissions is None:
        return "", ""
    url = ""
    for node in permissions.iter():
        if not isinstance(node.tag, str):
            continue
        if node.tag.endswith("license_ref"):
            url = clean_text(node.text)
        elif node.tag == "license" and not url:
            url = node.get(XLINK, "")
    license = permissions.find("license")
    text = ""
    if license is not None:
        text = license.get("license-type", "") or ""
        paragraph = _text(license.find("license-p"))
        text = paragraph if not text or text == "open-access" else text
    return url, text


def _year(root: etree._Element) -> int | None:
    for node in root.iterfind(".//article-meta/pub-date/year"):
        value = clean_text(node.text)
        if value.isdigit() and 1800 <= int(value) <= 2200:
            return int(value)
    return None


def _fig_records(
    fig: etree._Element,
    *,
    mentions: tuple[str, ...],
    document: DocumentInfo,
    files: dict[str, bytes],
) -> Iterator[Record]:
    fig_id = fig.get("id", "")
    label = _text(fig.find("label"))
    caption = _caption(fig.find("caption"))
    graphics = [node for node in fig.iter("graphic") if node.get(XLINK)]
    if not graphics:
        key = f"{document.source_id}::{fig_id or label}"
        yield Skipped(Reason.GRAPHIC_MISSING, key, "the fig has no <graphic>")
    for index, graphic in enumerate(graphics):
        href = graphic.get(XLINK, "")
        key = f"{document.source_id}::{fig_id or label}::{href}"
        name = resolve_href(href, files)
        if name is None:
            yield Skipped(Reason.GRAPHIC_MISSING, key, f"no file for href {href!r}")
            continue
        subfigure = chr(ord("A") + index) if len(graphics) > 1 else ""
        yield FigureRecord(
            document=document,
            image_bytes=files[name],
            image_name=name,
            caption=caption,
            source_key=key,
            mentions=mentions,
            label=label[:100],
            subfigure=subfigure,
            source_labels={"fig_id": fig_id},
        )


def resolve_href(href: str, files: dict[str, bytes]) -> str | None:
    """Find the package file a `<graphic>` points at, extension or not."""
    wanted = PurePosixPath(href.replace("\\", "/")).name
    if not wanted or wanted in {".", ".."}:
        return None
    by_name = {PurePosixPath(name).name: name for name in files}
    if wanted in by_name and PurePosixPath(wanted).suffix.lower() in _IMAGE_PREFERENCE:
        return by_name[wanted]
    stem = wanted.lower()
    candidates = {
        PurePosixPath(name).suffix.lower(): name
        for name in files
        if PurePosixPath(name).stem.lower() == stem
        or PurePosixPath(name).name.lower() == stem
    }
    for suffix in _IMAGE_PREFERENCE:
        if suffix in candidates:
            return candidates[suffix]
    return by_name.get(wanted)


def _text(node: etree._Element | None) -> str:
    """Flatten inline markup (italics, xrefs, sub/sup) into plain text."""
    if node is None:
        return ""
    return clean_text("".join(node.itertext()))


def _caption(node: etree._Element | None) -> str:
    """Caption title and paragraphs, one space between blocks."""
    if node is None:
        return ""
    blocks = [_text(child) for child in node if isinstance(child.tag, str)]
    return clean_text(" ".join([clean_text(node.text), *blocks]))


def _wanted(name: str) -> bool:
    """The article XML and anything that may be an image (hrefs may lack one)."""
    suffix = PurePosixPath(name).suffix.lower()
    return suffix in XML_SUFFIXES or suffix in _IMAGE_PREFERENCE or not suffix


def _archive_files(
    path: Path, *, limits: ImportLimits
) -> tuple[dict[str, bytes], list[Skipped]]:
    files: dict[str, bytes] = {}
    skips: list[Skipped] = []
    with archives.open_archive(str(path), streaming=True) as archive:
        entries = archives.iter_members(
            archive, limits=limits, source=path.name, wanted=_wanted
        )
        for entry in entries:
            if isinstance(entry, Skipped):
                skips.append(entry)
            else:
                files[entry.name] = entry.data
    return files, skips


def _folder_files(
    root: Path, *, limits: ImportLimits
) -> tuple[dict[str, bytes], list[Skipped]]:
    files: dict[str, bytes] = {}
    skips: list[Skipped] = []
    for entry in sorted(root.rglob("*")):
        key = f"{root.name}::{entry.relative_to(root)}"
        if entry.is_symlink():
            skips.append(Skipped(Reason.LINK_MEMBER, key, "symbolic link"))
        elif entry.is_file() and _wanted(entry.name):
            if entry.stat().st_size > limits.max_member_bytes:
                skips.append(Skipped(Reason.MEMBER_TOO_LARGE, key, "file too large"))
            else:
                files[entry.relative_to(root).as_posix()] = entry.read_bytes()
    return files, skips
