"""The claims ledger: every claim of data/claims.yml has a verdict from the chapter that should test it."""

import json

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
