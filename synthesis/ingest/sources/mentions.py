"""In-text mentions: the sentences of a JATS body that cite each figure.

A sentence cites a figure when it holds an `<xref ref-type="fig">` whose
`rid` names it. Ranges count for every figure in them, whether written as
one cross-reference ("Figs. 2–4" pointing at F2) or two joined by a dash
(`<xref rid="F2">2</xref>–<xref rid="F4">4</xref>`). Subfigure references
("Fig. 2B") cite the whole figure.
"""

from __future__ import annotations

import re
from collections import defaultdict

from lxml import etree

from synthesis.ingest.sources.records import clean_text
from synthesis.ingest.sources.sentences import split_sentences

# Paragraphs inside these are not "the body citing the figure".
_NOT_BODY = {"caption", "fig", "table-wrap-foot", "ref-list", "license", "permissions"}
_RANGE_IN_TEXT = re.compile(r"(\d+)\s*[A-Za-z]?\s*(?:[–—-]|to)\s*(\d+)")
_JOINER = re.compile(r"^\s*(?:[–—-]|to)\s*$")


def mentions_by_figure(root: etree._Element) -> dict[str, list[str]]:
    """Map each fig id to the distinct sentences citing it, in reading order."""
    order = [fig.get("id") for fig in root.iter("fig") if fig.get("id")]
    by_number = _numbers(root)
    found: dict[str, list[str]] = defaultdict(list)
    for paragraph in root.iter("p"):
        if any(parent.tag in _NOT_BODY for parent in paragraph.iterancestors()):
            continue
        pieces: list[str] = []
        refs: list[tuple[int, int, list[str], str]] = []
        _flatten(paragraph, pieces, refs, top=True)
        text = "".join(pieces)
        cited = _expand(refs, text=text, order=order, by_number=by_number)
        for start, end in split_sentences(text):
            sentence = clean_text(text[start:end])
            for ref_start, ref_end, fig_ids in cited:
                if ref_start < end and ref_end > start:
                    for fig_id in fig_ids:
                        if sentence not in found[fig_id]:
                            found[fig_id].append(sentence)
    return dict(found)


def _flatten(
    node: etree._Element,
    pieces: list[str],
    refs: list[tuple[int, int, list[str], str]],
    *,
    top: bool = False,
) -> None:
    """Collect the text of a paragraph, noting where each fig xref sits."""
    is_fig_ref = node.tag == "xref" and node.get("ref-type") == "fig"
    start = sum(len(piece) for piece in pieces)
    pieces.append(node.text or "")
    for child in node:
        if isinstance(child.tag, str):
            _flatten(child, pieces, refs)
        else:
            pieces.append(child.tail or "")
    if is_fig_ref:
        end = sum(len(piece) for piece in pieces)
        rids = (node.get("rid") or "").split()
        refs.append((start, end, rids, "".join(pieces)[start:end]))
    if not top:
        pieces.append(node.tail or "")


def _expand(
    refs: list[tuple[int, int, list[str], str]],
    *,
    text: str,
    order: list[str],
    by_number: dict[int, str],
) -> list[tuple[int, int, list[str]]]:
    known = set(order)
    cited: list[tuple[int, int, list[str]]] = []
    for index, (start, end, rids, ref_text) in enumerate(refs):
        fig_ids = [_known(rid, known) for rid in rids]
        fig_ids = [fig_id for fig_id in fig_ids if fig_id]
        match = _RANGE_IN_TEXT.search(ref_text)
        if match:
            low, high = sorted((int(match.group(1)), int(match.group(2))))
            fig_ids += [by_number[n] for n in range(low, high + 1) if n in by_number]
        if index + 1 < len(refs) and _JOINER.match(text[end : refs[index + 1][0]]):
            following = [_known(rid, known) for rid in refs[index + 1][2]]
            fig_ids += _between(fig_ids, following, order)
        cited.append((start, end, list(dict.fromkeys(fig_ids))))
    return cited


def _between(first: list[str], last: list[str | None], order: list[str]) -> list[str]:
    """Figures strictly inside a range whose two ends are separate xrefs."""
    ends = [order.index(fig_id) for fig_id in (*first, *last) if fig_id in order]
    if len(ends) < 2:
        return []
    return order[min(ends) + 1 : max(ends)]


def _known(rid: str, known: set[str]) -> str | None:
    if rid in known:
        return rid
    # A panel id such as "F2B" stands for its figure "F2".
    trimmed = rid.rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    return trimmed if trimmed in known else None


def _numbers(root: etree._Element) -> dict[int, str]:
    numbers: dict[int, str] = {}
    for fig in root.iter("fig"):
        label_node = fig.find("label")
        label = (
            "" if label_node is None else clean_text(" ".join(label_node.itertext()))
        )
        match = re.search(r"\d+", label)
        if match and fig.get("id"):
            numbers.setdefault(int(match.group()), fig.get("id"))
    return numbers
