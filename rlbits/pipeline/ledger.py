"""The claims ledger: every claim of ``data/claims.yml`` with the verdict its rule gives on its chapter's results.

Each claim's rule (``data/claims.yml``, see :mod:`rlbits.verdicts`) is evaluated here on the owning chapter's results
file; a chapter that recorded a different verdict (with :func:`rlbits.decide`) is an error. Nothing in the ledger
is typed by hand.

The pipeline calls :func:`write` after executing the chapters and before the back matter
(:func:`rlbits.pipeline.book.execute_all`): it writes ``_build/results/ledger.json``, or fails the build when a
chapter's recorded verdict disagrees with its rule (and then the back matter is not executed). The ledger page
(``chapters/backmatter/claims_ledger.md``) only reads that file (:func:`read_json`) and lays it out
(:func:`markdown_table`); ``ledger.json`` is part of the back matter's cache key, so the page follows every change.

The ledger takes verdicts only from *default* runs: it reads ``_build/results/default/<chapter>.json``, which the
pipeline writes only when a chapter runs at its default parameters, so a reader run (``run -p ...``) never changes a
verdict; the table says which pages were built from other parameters (:func:`reader_runs`).

A reader sees each piece of evidence as a label and a number ("samples for a 95% chance of sampling the answer once:
299,572"), never as an internal key: labels come from ``data/quantities.yml`` (:func:`quantity_labels`), numbers
from :mod:`rlbits.numbers`. ``ledger.json`` carries both (``label``, ``value_text``), and the landing page's table
(``{rlbits-glance}`` in :mod:`rlbits.pipeline.sphinxext`) is built from it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from rlbits import numbers, tables, verdicts
from rlbits.pipeline.execute import OVERRIDES_KEY, atomic_write
from rlbits.results import VERDICTS, build_dir

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Entry:
    id: str
    claim: str
    source: str
    chapter: str
    verdict: str | None
    quantity: str | None
    value: float | int | str | None
    note: str
    rule: str = ""
    #: the overrides of the chapter's page when it was built from a reader run (``name = value, ...``), else ""
    reader_run: str = ""
    #: the human label of ``quantity`` (``data/quantities.yml``; MyST, may hold ``$...$``), and its value as printed
    label: str = ""
    value_text: str = ""
    #: the MyST target of the owning chapter's Verdicts section (``chNN-verdicts``), or "" when it has none
    verdicts_label: str = ""


def default_results(stem: str, build: Path | None = None) -> dict:
    """The results of chapter ``stem``'s last default run in ``build`` (default: this build; never a reader run's)."""
    base = Path(build or build_dir()) / "results"
    path = base / "default" / f"{stem}.json"
    if not path.exists():
        path = base / f"{stem}.json"  # a build made before default runs were kept apart
        if not path.exists():
            raise FileNotFoundError(f"no results for chapter {stem!r} at {path}: execute it first")
    data = json.loads(path.read_text())
    if OVERRIDES_KEY in data:
        raise FileNotFoundError(f"chapter {stem!r} has only a reader run ({path}); run it at its defaults")
    return data


def reader_runs(build: Path | None = None) -> dict[str, str]:
    """``stem -> "name = value, ..."`` for each chapter whose page was built from overrides in ``build`` (default:
    this build)."""
    out = {}
    for path in sorted((Path(build or build_dir()) / "results").glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except ValueError:
            continue
        overrides = data.get(OVERRIDES_KEY) if isinstance(data, dict) else None
        if overrides:
            out[path.stem] = ", ".join(f"{k} = {o['value']!r}" for k, o in sorted(overrides.items()))
    return out


def load_claims(path: Path | None = None) -> list[dict]:
    """The claims file, checked: unique ids, each with a claim, a source and an owning chapter."""
    claims = yaml.safe_load(Path(path or ROOT / "data" / "claims.yml").read_text())
    ids = [c["id"] for c in claims]
    if len(ids) != len(set(ids)):
        raise ValueError(f"duplicate claim ids in claims.yml: {sorted(i for i in ids if ids.count(i) > 1)}")
    for c in claims:
        missing = {"id", "claim", "source", "chapter"} - set(c)
        if missing:
            raise ValueError(f"claim {c.get('id')} lacks {sorted(missing)}")
        verdicts.check_claim(c)
    return claims


def quantity_labels(path: Path | None = None) -> dict[str, dict]:
    """``data/quantities.yml``: quantity name -> ``{"label": ..., "sig": int}`` or ``{"label": ..., "format": spec}``
    (an entry given as a bare string is its label)."""
    raw = yaml.safe_load(Path(path or ROOT / "data" / "quantities.yml").read_text()) or {}
    out = {}
    for name, spec in raw.items():
        spec = {"label": spec} if isinstance(spec, str) else dict(spec)
        unknown = set(spec) - {"label", "sig", "format"}
        if not spec.get("label") or unknown or ("sig" in spec and "format" in spec):
            raise ValueError(f"data/quantities.yml: {name}: give a 'label' and at most one of 'sig' or 'format' "
                             f"(got {sorted(spec)})")
        out[name] = spec
    return out


def value_text(value, spec: dict | None = None) -> str:
    """A recorded value as the ledger prints it, with the quantity's ``sig`` or ``format`` (:mod:`rlbits.numbers`)."""
    spec = spec or {}
    if value is None:
        return ""
    if isinstance(value, str):
        return numbers.rewrite(value)
    if "format" in spec:
        return numbers.fmt(value, spec["format"])
    return numbers.number(value, sig=spec.get("sig", 3))


def entries(claims: list[dict] | None = None, results_of=None, build: Path | None = None) -> list[Entry]:
    """One ledger entry per claim, from the owning chapter's default-run results in ``build`` (verdict ``None`` if
    absent), or from ``results_of(stem)`` when given (tests)."""
    out = []
    readers = reader_runs(build) if results_of is None else {}
    results_of = results_of or (lambda stem: default_results(stem, build))
    labels = quantity_labels()
    cache: dict[str, dict] = {}
    for c in claims or load_claims():
        stem = c["chapter"]
        if stem not in cache:
            try:
                cache[stem] = results_of(stem)
            except FileNotFoundError:
                cache[stem] = {}
        r = cache[stem]
        key = f"verdict_{c['id']}"
        verdict = r.get(key)
        if verdict is not None and verdict not in VERDICTS:
            raise ValueError(f"{stem}: {key}={verdict!r} is not one of {list(VERDICTS)}")
        quantity = r.get(f"{key}_quantity")
        note = r.get(f"{key}_note", "")
        if r:
            decision = verdicts.evaluate(c, r)
            if verdict is not None and verdict != decision.verdict:
                raise ValueError(f"{stem} recorded {key}={verdict!r} but the rule of data/claims.yml gives "
                                 f"{decision.verdict!r}")
            verdict, quantity, note = decision.verdict, decision.evidence, decision.says
        value = r.get(quantity) if quantity else None
        spec = labels.get(quantity or "", {})
        out.append(Entry(id=c["id"], claim=c["claim"], source=", ".join(c["source"]), chapter=stem,
                         verdict=verdict, quantity=quantity, value=value, note=note, rule=verdicts.rule_markdown(c),
                         reader_run=readers.get(stem, ""), label=spec.get("label", ""),
                         value_text=value_text(value, spec), verdicts_label=verdicts_label(stem) or ""))
    return out


def write_json(items: list[Entry], path: Path | None = None) -> Path:
    """``_build/results/ledger.json``: claim id -> verdict, chapter, quantity (name and value), note, rule."""
    path = Path(path or build_dir() / "results" / "ledger.json")
    data = {e.id: {k: v for k, v in asdict(e).items() if k != "id"} for e in items}
    atomic_write(path, json.dumps(data, indent=1, sort_keys=True) + "\n")
    return path


def write(build: Path, claims_path: Path | None = None) -> list[Entry]:
    """The pipeline's ledger step: evaluate every claim's rule on the default results in ``build`` and write
    ``build/results/ledger.json``. Raises (and writes nothing) when a chapter's recorded verdict disagrees with its
    rule or a rule cannot be evaluated on what the chapter recorded."""
    items = entries(load_claims(claims_path), build=build)
    write_json(items, Path(build) / "results" / "ledger.json")
    return items


def read_json(path: Path | None = None) -> list[Entry]:
    """The ledger the pipeline wrote for this build (:func:`write`), one entry per claim in claim-id order."""
    path = Path(path or build_dir() / "results" / "ledger.json")
    if not path.exists():
        raise FileNotFoundError(f"no claims ledger at {path}: the pipeline writes it after executing the chapters, "
                                "before the back matter (`python -m rlbits build`, or `run` with the back matter)")
    return [Entry(id=cid, **row) for cid, row in json.loads(path.read_text()).items()]


def verdicts_label(stem: str) -> str | None:
    """The MyST target of chapter ``stem``'s Verdicts section (``chNN-verdicts``), or None if the chapter has none.

    A chapter labels its section with ``(ch06-verdicts)=`` on the line before ``## Verdicts``."""
    number = stem.split("_", 1)[0]
    path = ROOT / "chapters" / f"{stem}.md"
    if not number.isdigit() or not path.exists():
        return None
    label = f"ch{number}-verdicts"
    return label if f"({label})=" in path.read_text().splitlines() else None


def chapter_link(stem: str) -> str:
    """A link from the ledger (``chapters/backmatter``) to where chapter ``stem`` gives its verdicts: its Verdicts
    section when it has one, else the top of the chapter."""
    number = stem.split("_", 1)[0]
    if not number.isdigit():
        return f"{{doc}}`../{stem}`"
    label = verdicts_label(stem)
    if label:
        return f"{{ref}}`Ch. {int(number)} <{label}>`"
    return f"{{doc}}`Ch. {int(number)} <../{stem}>`"


def evidence_markdown(e: Entry) -> str:
    """The deciding number as a reader reads it: "label: value" (the key itself only when it has no label, which
    tests/test_ledger.py forbids for the quantities a ledger row shows)."""
    if not e.quantity:
        return ""
    name = e.label or f"`{e.quantity}`"
    return f"{name}: {e.value_text}" if e.value_text else name


def notes_markdown(items: list[Entry]) -> str:
    """The notes behind the verdicts: each claim's deciding sentence (MyST; ``$...$`` is math)."""
    return "\n".join(f"- **{e.id}** ({e.verdict or 'no verdict'}): {e.note}" for e in items)


def markdown_table(items: list[Entry]) -> str:
    """The ledger as a MyST table: claim (with its sources), verdict, the recorded evidence, and a link to the chapter's
    verdicts (:func:`chapter_link`)."""
    rows = []
    for e in items:
        verdict = f"**{e.verdict}**" if e.verdict else "*no verdict recorded*"
        evidence = evidence_markdown(e)
        where = chapter_link(e.chapter)
        rule = e.rule.replace("|", "\\|")
        if e.reader_run:
            where += " (page: reader run)"
        rows.append([f"**{e.id}** {e.claim} *({e.source})*", verdict, evidence, rule, where])
    text = tables.markdown(["Claim", "Verdict", "Evidence", "Rule", "Tested in"], rows,
                           "The claims ledger: each claim of the sources, paraphrased, with the verdict of its "
                           "chapter's default run, the recorded number that decided it, the rule that maps the "
                           "number to the verdict, and the chapter that tests it.", "tbl-claims-ledger")
    readers = {e.chapter: e.reader_run for e in items if e.reader_run}
    if readers:
        pages = "; ".join(f"`{stem}` ({notice})" for stem, notice in sorted(readers.items()))
        text = (f"**Pages built from other parameters:** {pages}. Those pages show a reader run; the verdicts "
                "below are their chapters' default runs.\n\n" + text)
    return text
