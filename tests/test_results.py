"""rlbits.results: what record() accepts, and what it remembers for decide()."""

import numpy as np
import pytest

from rlbits import record
from rlbits.results import recorded
from rlbits.pipeline.execute import extract_results


def test_record_converts_numpy_scalars(capsys):
    assert record("x", np.float64(0.5)) == 0.5 and type(record("x", np.float64(0.5))) is float
    assert type(record("n", np.int64(3))) is int


@pytest.mark.parametrize("bad", [np.nan, np.inf, [1, 2], None])
def test_record_rejects_non_scalars(bad):
    with pytest.raises((TypeError, ValueError)):
        record("x", bad)


def test_record_rejects_bad_names():
    with pytest.raises(ValueError, match="result name"):
        record("a-b", 1)


def test_recorded_remembers_the_last_value_of_each_name():
    record("rec_a", 1)
    record("rec_a", np.float64(2.5))
    got = recorded()
    assert got["rec_a"] == 2.5 and type(got["rec_a"]) is float
    got["rec_a"] = 0  # a copy: decide() cannot be fooled by a caller editing it
    assert recorded()["rec_a"] == 2.5


def test_extract_results_reads_glue_outputs():
    import nbformat

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"application/papermill.record/text/plain": "0.25"},
                               metadata={"scrapbook": {"name": "a", "mime_prefix": "application/papermill.record/"}}),
        nbformat.v4.new_output("display_data", data={"application/papermill.record/text/plain": "'holds'"},
                               metadata={"scrapbook": {"name": "v", "mime_prefix": "application/papermill.record/"}}),
        nbformat.v4.new_output("display_data", data={"application/papermill.record/image/png": "AAA",
                                                      "application/papermill.record/text/plain": "<Figure>"},
                               metadata={"scrapbook": {"name": "fig", "mime_prefix": "application/papermill.record/"}}),
    ]
    nb.cells.append(cell)
    assert extract_results(nb) == {"a": 0.25, "v": "holds"}
