"""Every document the code and READMEs cite is in the repository, and every relative link resolves.

The project's spec lives in docs/ (architecture, billing semantics, toolchain); nothing may point at files
outside the repository.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEXT_SUFFIXES = {".py", ".md", ".sql", ".yml", ".yaml", ".toml", ".typ", ".ini", ".cfg", ".txt", ""}
OUTSIDE = re.compile(r"BILLING_SEMANTICS|ARCHITECTURE\.md|TOOLCHAIN\.md|\.\./shared/")
DOC_MENTION = re.compile(r"\bdocs/([a-z0-9_-]+\.(?:md|py))(?:#([a-z0-9-]+))?")
MD_LINK = re.compile(r"\]\(([^)\s]+)\)")


def _tracked() -> list[Path]:
    names = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return [ROOT / n for n in names if Path(n).suffix in TEXT_SUFFIXES and (ROOT / n).is_file()]


def _anchors(doc: Path) -> set[str]:
    text = doc.read_text()
    ids = set(re.findall(r'<a id="([^"]+)"', text))
    for heading in re.findall(r"^#+ (.+)$", text, re.M):
        ids.add(re.sub(r"[^a-z0-9 -]", "", heading.lower()).strip().replace(" ", "-"))
    return ids


def _texts() -> list[tuple[Path, str]]:
    here = Path(__file__).resolve()
    return [(p, p.read_text(errors="replace")) for p in _tracked() if p.resolve() != here]


def test_nothing_cites_a_document_outside_the_repository() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for path, text in _texts()
        for n, line in enumerate(text.splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert not found, found


def test_every_cited_doc_and_anchor_exists() -> None:
    missing = []
    for path, text in _texts():
        for name, anchor in DOC_MENTION.findall(text):
            doc = ROOT / "docs" / name
            if not doc.exists():
                missing.append(f"{path.relative_to(ROOT)}: docs/{name}")
            elif anchor and anchor not in _anchors(doc):
                missing.append(f"{path.relative_to(ROOT)}: docs/{name}#{anchor}")
    assert not missing, missing


def test_every_relative_markdown_link_resolves() -> None:
    broken = []
    for path, text in _texts():
        if path.suffix != ".md":
            continue
        for target in MD_LINK.findall(text):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            file_part, _, anchor = target.partition("#")
            resolved = (path.parent / file_part).resolve()
            if not resolved.exists() or (
                anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved)
            ):
                broken.append(f"{path.relative_to(ROOT)}: {target}")
    assert not broken, broken
