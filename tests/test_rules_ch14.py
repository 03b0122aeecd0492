"""The rule of C33 (chapter 14) on synthetic results at both sides of each threshold."""

from rlbits import verdicts

CLAIMS = verdicts.load_claims()

BASE = {"rl_sl_exponent": 0.9, "rl_sl_exponent_tabular": 0.8, "rl_sl_exponent_lo": 0.8, "rl_sl_exponent_hi": 1.0,
        "identity_quotient_median": 1.2, "identity_quotient_lo": 0.9, "identity_quotient_hi": 1.5,
        "identity_quotient_all_lo": 0.8, "identity_quotient_all_hi": 1.9}


def decide(**changes):
    return verdicts.evaluate(CLAIMS["C33"], {**BASE, **changes}).verdict


def test_c33_is_the_books_own_claim():
    c = CLAIMS["C33"]
    assert c["source"] == ["book"] and c["chapter"] == "14_bits_per_flop_measured"


def test_c33_holds_inside_both_bands():
    assert decide() == "holds"
    assert decide(rl_sl_exponent=1.04) == "holds"
    assert decide(identity_quotient_all_lo=0.5, identity_quotient_all_hi=2.0) == "holds"


def test_c33_exponent_threshold():
    assert decide(rl_sl_exponent=1.06) == "holds with a caveat"
    assert decide(rl_sl_exponent=0.54) == "holds with a caveat"
    assert decide(rl_sl_exponent=0.56) == "holds"
    assert decide(rl_sl_exponent_lo=0.49) == "does not hold"


def test_c33_identity_thresholds():
    assert decide(identity_quotient_all_lo=0.49) == "holds with a caveat"
    assert decide(identity_quotient_all_hi=2.01) == "holds with a caveat"
    assert decide(identity_quotient_all_hi=6.0, identity_quotient_hi=3.99) == "holds with a caveat"
    assert decide(identity_quotient_all_hi=6.0, identity_quotient_hi=4.01) == "does not hold"
    assert decide(identity_quotient_all_lo=0.1, identity_quotient_lo=0.24) == "does not hold"
    assert decide(identity_quotient_all_lo=0.1, identity_quotient_lo=0.26) == "holds with a caveat"


def test_c33_caveat_sentences_name_the_failing_part():
    c = CLAIMS["C33"]
    only_vocab = verdicts.evaluate(c, {**BASE, "identity_quotient_all_hi": 6.0})
    assert only_vocab.verdict == "holds with a caveat" and "not at every vocabulary" in only_vocab.says
    exponent_off = verdicts.evaluate(c, {**BASE, "rl_sl_exponent": 1.3})
    assert exponent_off.verdict == "holds with a caveat" and "more than 0.25" in exponent_off.says


C01 = {**BASE, "bpf_ratio_measured": 67.0, "bpf_ratio_predicted": 95.0}


def c01(**changes):
    return verdicts.evaluate(CLAIMS["C01"], {**C01, **changes}).verdict


def test_c01_is_measured_on_the_network():
    assert CLAIMS["C01"]["chapter"] == "14_bits_per_flop_measured"


def test_c01_thresholds():
    assert c01() == "holds"
    assert c01(identity_quotient_all_lo=0.5, identity_quotient_all_hi=2.0) == "holds"
    assert c01(identity_quotient_all_lo=0.49) == "holds with a caveat"
    assert c01(identity_quotient_all_hi=2.01) == "holds with a caveat"
    assert c01(identity_quotient_all_hi=5.0, identity_quotient_hi=2.01) == "depends on the definition"
    assert c01(identity_quotient_all_lo=0.1, identity_quotient_lo=0.49) == "depends on the definition"
    assert c01(identity_quotient_all_lo=0.1, identity_quotient_lo=0.5) == "holds with a caveat"
