"""The claims ledger: every claim of data/claims.yml has a verdict from the chapter that should test it."""

import json

import pytest
import yaml

from conftest import ROOT
from rlbits import ledger
from rlbits.results import VERDICTS


def test_claims_file_lists_every_claim_of_the_outline():
    claims = ledger.load_claims()
    ids = [c["id"] for c in claims]
    expected = [f"C{i:02d}" for i in range(1, 30) if i != 25]  # the outline has no C25
    assert [i for i in ids if i in expected] == expected
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    for c in claims:
        # the book's own claims (source "book") come after the outline's
        assert set(c["source"]) <= {"essay", "podcast", "comment", "book"}
        assert c["id"] in expected or c["source"] == ["book"] or int(c["id"][1:]) >= 30


def test_owning_chapters_are_in_the_book():
    toc = (ROOT / "_toc.yml").read_text()
    for c in ledger.load_claims():
        assert f"chapters/{c['chapter']}" in toc, c


def test_entries_join_results_and_flag_missing_verdicts():
    claims = [{"id": "C01", "claim": "x", "source": ["essay"], "chapter": "a"},
              {"id": "C02", "claim": "y", "source": ["podcast"], "chapter": "b"}]
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


@pytest.mark.book
def test_every_claim_has_a_verdict_with_a_recorded_quantity(book):
    assert book.returncode == 0, book.log[-3000:]
    data = json.loads((book.build / "results" / "ledger.json").read_text())
    claims = ledger.load_claims()
    missing = [c["id"] for c in claims if data.get(c["id"], {}).get("verdict") is None]
    assert not missing, f"claims with no verdict from their chapter: {missing}"
    for c in claims:
        entry = data[c["id"]]
        assert entry["verdict"] in VERDICTS
        assert entry["quantity"], f"{c['id']}: verdict without a quantity"
        results = json.loads((book.build / "results" / f"{c['chapter']}.json").read_text())
        assert entry["quantity"] in results, f"{c['id']}: quantity {entry['quantity']} not recorded"
        if entry["verdict"] == "discussed, not testable":
            assert entry["note"], f"{c['id']}: 'not testable' needs a reason"
