"""The claims ledger: every claim of data/claims.yml has a verdict from the chapter that should test it."""

import json
import re

import pytest
import yaml

from conftest import ROOT
from rlbits.pipeline import ledger
from rlbits.results import VERDICTS


def test_claims_file_lists_every_claim_of_the_outline():
    claims = ledger.load_claims()
    ids = [c["id"] for c in claims]
    expected = [f"C{i:02d}" for i in range(1, 30) if i != 25]  # the outline has no C25
    assert ids[:len(expected)] == expected
    # claims added after the outline (issue 14) continue the numbering, each once
    added = [int(i[1:]) for i in ids[len(expected):]]
    assert all(i.startswith("C") for i in ids) and len(set(ids)) == len(ids)
    assert all(n >= 30 for n in added) and added == sorted(added)
    for c in claims:
        # the book's own claims (source "book") come after the outline's
        assert set(c["source"]) <= {"essay", "podcast", "comment", "book"}
        assert c["id"] in expected or c["source"] == ["book"] or int(c["id"][1:]) >= 30


def test_owning_chapters_are_in_the_book():
    toc = (ROOT / "_toc.yml").read_text()
    for c in ledger.load_claims():
        assert f"chapters/{c['chapter']}" in toc, c


def test_entries_join_results_and_flag_missing_verdicts():
    rule = {"uses": ["q"], "why": "w", "rule": [{"verdict": "holds", "says": "n"}]}
    claims = [{"id": "C01", "claim": "x", "source": ["essay"], "chapter": "a", "test": rule},
              {"id": "C02", "claim": "y", "source": ["podcast"], "chapter": "b", "test": rule}]
    fake = {"a": {"verdict_C01": "holds", "verdict_C01_quantity": "q", "q": 0.5, "verdict_C01_note": "n"}}

    def results_of(stem):
        if stem not in fake:
            raise FileNotFoundError(stem)
        return fake[stem]

    items = ledger.entries(claims, results_of)
    assert (items[0].verdict, items[0].value, items[0].note) == ("holds", 0.5, "n")
    assert items[1].verdict is None
    fake["a"]["verdict_C01"] = "sort of"
    with pytest.raises(ValueError, match="sort of"):
        ledger.entries(claims, results_of)


def test_the_pipeline_writes_the_ledger_and_the_page_reads_it_back(tmp_path):
    """ledger.write (the pipeline's step) evaluates every rule on the default results; read_json (the ledger page)
    gives back the same entries; a disagreeing verdict writes nothing."""
    claims = tmp_path / "claims.yml"
    claims.write_text(yaml.safe_dump([
        {"id": "C01", "claim": "x", "source": ["essay"], "chapter": "a",
         "test": {"uses": ["q"], "why": "w", "rule": [{"when": "q > 1", "verdict": "holds", "says": "q = {q}"},
                                                       {"verdict": "does not hold", "says": "q = {q}"}]}},
        {"id": "C02", "claim": "y", "source": ["book"], "chapter": "b", "status": "discussed, not testable",
         "because": "a value judgement"}]))
    build = tmp_path / "_build"
    (build / "results" / "default").mkdir(parents=True)
    (build / "results" / "default" / "a.json").write_text(json.dumps({"q": 0.5, "verdict_C01": "does not hold"}))
    with pytest.raises(FileNotFoundError, match="the pipeline writes it"):
        ledger.read_json(build / "results" / "ledger.json")
    items = ledger.write(build, claims)
    assert [(e.id, e.verdict, e.note) for e in items] == [("C01", "does not hold", "q = 0.5"), ("C02", None, "")]
    assert ledger.read_json(build / "results" / "ledger.json") == items
    written = (build / "results" / "ledger.json").read_bytes()
    (build / "results" / "default" / "a.json").write_text(json.dumps({"q": 0.5, "verdict_C01": "holds"}))
    with pytest.raises(ValueError, match="gives 'does not hold'"):
        ledger.write(build, claims)
    assert (build / "results" / "ledger.json").read_bytes() == written


def test_every_claim_has_a_rule_or_a_declared_status():
    for c in ledger.load_claims():
        assert ("test" in c) != ("status" in c), f"{c['id']}: needs exactly one of a rule (test) or a declared status"


def test_a_recorded_verdict_that_disagrees_with_the_rule_is_refused():
    claim = {"id": "C01", "claim": "x", "source": ["essay"], "chapter": "a",
             "test": {"uses": ["q"], "why": "w", "rule": [{"when": "q > 1", "verdict": "holds", "says": "q = {q}"},
                                                          {"verdict": "does not hold", "says": "q = {q}"}]}}
    res = {"q": 0.5, "verdict_C01": "does not hold"}
    items = ledger.entries([claim], lambda stem: res)
    assert (items[0].verdict, items[0].quantity, items[0].value, items[0].note) == ("does not hold", "q", 0.5, "q = 0.5")
    assert "`q > 1` → *holds*" in items[0].rule
    res["verdict_C01"] = "holds"
    with pytest.raises(ValueError, match="rule of data/claims.yml gives 'does not hold'"):
        ledger.entries([claim], lambda stem: res)


def test_every_quantity_a_rule_uses_has_a_label():
    """The ledger and the landing page show each rule's headline quantity (the first it uses) as "label: value"; every
    other quantity a rule reads has a label too, so a reader can be told what it is."""
    labels = ledger.quantity_labels()
    used = {}
    for c in ledger.load_claims():
        for name in c.get("test", {}).get("uses", []):
            used.setdefault(name, c["id"])
    missing = {name: cid for name, cid in used.items() if name not in labels}
    assert not missing, f"give these quantities a label in data/quantities.yml: {missing}"
    unused = sorted(set(labels) - set(used))
    assert not unused, f"data/quantities.yml labels quantities no rule uses: {unused}"
    for name, spec in labels.items():
        assert "_" not in name or name not in spec["label"], f"{name}: the label repeats the key"
        assert "_" not in re.sub(r"\$[^$]*\$", "", spec["label"]), \
            f"{name}: the label should be words, not a key: {spec['label']!r}"


def test_labels_file_is_checked(tmp_path):
    good = tmp_path / "q.yml"
    good.write_text("a: the a\nb: {label: the b, sig: 4}\nc: {label: the c, format: '.1%'}\n")
    assert ledger.quantity_labels(good) == {"a": {"label": "the a"}, "b": {"label": "the b", "sig": 4},
                                            "c": {"label": "the c", "format": ".1%"}}
    for text in ("a: {sig: 3}\n", "a: {label: x, sig: 3, format: '.2f'}\n", "a: {label: x, unit: s}\n"):
        bad = tmp_path / "bad.yml"
        bad.write_text(text)
        with pytest.raises(ValueError, match="data/quantities.yml: a"):
            ledger.quantity_labels(bad)


def test_evidence_is_a_label_and_a_formatted_value_never_a_key():
    from rlbits.numbers import TIMES

    e = ledger.Entry(id="C05", claim="x", source="essay", chapter="05_a", verdict="holds",
                     quantity="rl_vs_sl_bits_per_flop_gap_T1e4_p1e_5", value=1.227e9, note="n",
                     label="RL's gap to SL in bits per FLOP", value_text=ledger.value_text(1.227e9))
    assert ledger.evidence_markdown(e) == f"RL's gap to SL in bits per FLOP: 1.23{TIMES}10⁹"
    assert ledger.value_text(0.0602, {"format": ".1%"}) == "6.0%"
    assert ledger.value_text(299572) == "299,572" and ledger.value_text(16.6096, {"sig": 4}) == "16.61"
    assert ledger.value_text(None) == "" and ledger.value_text("1e-05") == "10⁻⁵"
    table = ledger.markdown_table([e])
    assert "rl_vs_sl" not in table.split("|")[3] and "1.227e" not in table


@pytest.mark.book
def test_the_built_ledger_shows_labels_not_keys(book):
    """In the rendered ledger the Evidence column is words and numbers: no quantity's key, no e-notation."""
    import re
    from html import unescape

    from rlbits.numbers import E_NOTATION

    assert book.returncode == 0, book.log[-3000:]
    data = json.loads((book.build / "results" / "ledger.json").read_text())
    html = (book.build / "html" / "chapters" / "backmatter" / "claims_ledger.html").read_text()
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.S)
    cells = [[unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
             for r in rows]
    evidence = {c[0].split()[0]: c[2] for c in cells if len(c) >= 3 and c[0].startswith("C")}
    assert set(evidence) == set(data), sorted(set(data) ^ set(evidence))
    for cid, text in evidence.items():
        entry = data[cid]
        if entry["quantity"]:
            assert entry["quantity"] not in text, f"{cid}: the ledger shows the key {entry['quantity']!r}"
            assert entry["value_text"] in text, f"{cid}: {text!r}"
        assert not E_NOTATION.search(text), f"{cid}: {text!r}"


@pytest.mark.book
def test_every_claim_has_a_verdict_from_its_rule(book):
    """Each verdict in the built ledger is its rule evaluated on the owning chapter's recorded quantities."""
    from rlbits import verdicts

    assert book.returncode == 0, book.log[-3000:]
    data = json.loads((book.build / "results" / "ledger.json").read_text())
    claims = ledger.load_claims()
    missing = [c["id"] for c in claims if data.get(c["id"], {}).get("verdict") is None]
    assert not missing, f"claims with no verdict from their chapter: {missing}"
    for c in claims:
        entry = data[c["id"]]
        assert entry["verdict"] in VERDICTS
        results = json.loads((book.build / "results" / f"{c['chapter']}.json").read_text())
        if "status" in c:
            assert entry["verdict"] == verdicts.NOT_TESTABLE and entry["note"] == c["because"]
            continue
        for name in c["test"]["uses"]:
            assert name in results, f"{c['id']}: its rule uses {name!r}, which {c['chapter']} did not record"
        assert entry["quantity"] == c["test"]["uses"][0]
        assert entry["verdict"] == verdicts.evaluate(c, results).verdict
        assert results[f"verdict_{c['id']}"] == entry["verdict"], f"{c['id']}: the chapter printed another verdict"


def test_a_change_to_the_rules_or_labels_re_executes(tmp_path):
    """Chapters call ``decide`` and the ledger reads data/quantities.yml: both files are in the execution cache key."""
    from rlbits.pipeline.execute import data_key

    (tmp_path / "data" / "kjv").mkdir(parents=True)
    (tmp_path / "data" / "claims.yml").write_text("- id: C01\n")
    (tmp_path / "data" / "quantities.yml").write_text("q: the q\n")
    (tmp_path / "data" / "kjv" / "kjv.txt.xz").write_bytes(b"x")
    keys = {data_key(tmp_path)}
    for rel, text in (("claims.yml", "- id: C02\n"), ("quantities.yml", "q: another q\n"), ("kjv/kjv.txt.xz", "y")):
        (tmp_path / "data" / rel).write_text(text)
        keys.add(data_key(tmp_path))
    assert len(keys) == 4
    (tmp_path / "data" / "references.bib").write_text("@misc{a}")  # not read by any execution
    assert data_key(tmp_path) in keys
