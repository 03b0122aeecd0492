"""Every mention of another chapter in the book's prose is a link (issue 16, item 4).

The prose is the markdown outside code cells and fenced blocks (figure captions count as prose). A plain-text
"chapter 3", "Chapter 6's", "chapters 1 and 2" or "chapters 6-7" that is not inside a MyST role ({doc}`chapter 3
<03_seeing_the_answer>`) fails, naming file and line. A chapter's mention of its own number may stay text, and so
may a heading (a title, not running prose; a link there would land in the page's table of contents).
"""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
PAGES = sorted(CHAPTERS.glob("*.md")) + sorted((CHAPTERS / "backmatter").glob("*.md"))
MENTION = re.compile(r"\b[Cc]hapters?\s+\d+")
# inline code, roles (a role's text is `...` after {name}) and inline math are not plain text
NOT_TEXT = re.compile(r"(\{[^}\s]+\})?`[^`]*`|\$[^$]*\$")
PROSE_FENCES = ("{glue:figure}", "{figure}")


def prose_lines(text: str):
    """(line number, line) of the prose: no front matter, no code cells, no fenced blocks but figure captions."""
    lines = text.splitlines()
    i = 0
    if lines and lines[0].strip() == "---":
        i = lines.index("---", 1) + 1
    fence = None  # the open fence's backticks and whether its body is prose
    for n in range(i, len(lines)):
        line = lines[n]
        m = re.match(r"^\s*(`{3,}|:{3,})(.*)$", line)
        if fence is None and m:
            fence = (m.group(1), m.group(2).strip().startswith(PROSE_FENCES))
            continue
        if fence is not None and m and m.group(1) == fence[0] and not m.group(2).strip():
            fence = None
            continue
        if fence is not None and not fence[1]:
            continue
        if fence is not None and line.lstrip().startswith(":"):  # a directive's option line
            continue
        yield n + 1, line


def plain_mentions(page: Path):
    """(line number, mention) of each chapter mention in plain prose text, other than the page's own chapter."""
    own = page.stem.split("_", 1)[0]
    for n, line in prose_lines(page.read_text()):
        if line.lstrip().startswith("#"):
            continue
        for m in MENTION.finditer(NOT_TEXT.sub(" ", line)):
            number = m.group(0).split()[-1]
            if own.isdigit() and int(number) == int(own):
                continue
            yield n, m.group(0)


def test_prose_lines_skip_code_and_front_matter():
    text = "---\nx: chapter 1\n---\nSee chapter 2.\n```{code-cell} ipython3\n# chapter 3\n```\n" \
           "```{glue:figure} f\n:name: chapter 4\nCaption, chapter 5.\n```\n```bash\nchapter 6\n```\n"
    lines = [line for _, line in prose_lines(text)]
    assert lines == ["See chapter 2.", "Caption, chapter 5."]


def test_roles_are_not_plain_text(tmp_path):
    page = tmp_path / "03_x.md"
    page.write_text("A {doc}`chapter 1 <01_a>` and chapter 2, `chapter 4`, this chapter 3.\n"
                    "{doc}`Chapters 1 <01_a>` and 5\nchapters 6-7\n## Title (chapter 8)\n$x$ Chapter 9's\n")
    assert list(plain_mentions(page)) == [(1, "chapter 2"), (3, "chapters 6"), (5, "Chapter 9")]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(CHAPTERS).as_posix())
def test_chapter_mentions_are_links(page):
    bad = [f"{page.relative_to(ROOT)}:{n}: {text!r}" for n, text in plain_mentions(page)]
    assert not bad, "chapter mentions that are not {doc}/{ref} links:\n" + "\n".join(bad)


def test_every_chapter_role_points_at_a_page():
    """Each {doc} target in the prose names an existing page (the strict render would also fail)."""
    for page in PAGES:
        for n, line in prose_lines(page.read_text()):
            for target in re.findall(r"\{doc\}`[^`<]*<([^>]+)>`", line):
                assert (page.parent / f"{target}.md").exists(), f"{page.relative_to(ROOT)}:{n}: {target}"


def test_every_verdicts_section_has_its_label():
    """The ledger links to ``chNN-verdicts``: each chapter's Verdicts heading carries that target on the line before."""
    for page in sorted(CHAPTERS.glob("[0-9]*.md")):
        lines = page.read_text().splitlines()
        for n, line in enumerate(lines):
            if re.fullmatch(r"## Verdicts?", line):
                want = f"(ch{page.stem[:2]}-verdicts)="
                assert n > 0 and lines[n - 1] == want, f"{page.name}:{n + 1}: put {want} on the line before"


def test_ledger_links_to_the_verdicts_section():
    from rlbits.pipeline import ledger

    assert ledger.chapter_link("06_the_sky_is") == "{ref}`Ch. 6 <ch06-verdicts>`"
    # a chapter without a Verdicts section (chapter 7 owns no claim) is linked at its top
    assert ledger.chapter_link("07_next_token_by_rl") == "{doc}`Ch. 7 <../07_next_token_by_rl>`"
    assert ledger.chapter_link("no_such_page") == "{doc}`../no_such_page`"
    labelled = [p.stem for p in CHAPTERS.glob("[0-9]*.md") if ledger.verdicts_label(p.stem)]
    headed = [p.stem for p in CHAPTERS.glob("[0-9]*.md") if re.search(r"^## Verdicts?$", p.read_text(), re.M)]
    assert sorted(labelled) == sorted(headed) and len(headed) >= 13
    entry = ledger.Entry(id="C99", claim="c", source="s", chapter="03_seeing_the_answer", verdict="supported",
                         quantity=None, value=None, note="")
    assert "{ref}`Ch. 3 <ch03-verdicts>`" in ledger.markdown_table([entry])
