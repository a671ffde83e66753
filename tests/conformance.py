"""Expected outcomes of the peers' own tests run against fastloss (issue 12).

Keys are ``<peer test module>::<test function>`` (all its parametrisations);
values are the reason, which must appear verbatim in the fidelity table of
docs/fidelity.md (tests/test_conformance_sklearn.py checks it).  Every other
peer test that reaches fastloss must pass."""

MULTILABEL = ("multilabel edge cases left after issue 16 added multilabel-indicator y_true: "
              "multioutput y_true and some average='samples' warnings (not analysed yet)")
WARN_FOR = "precision_recall_fscore_support(warn_for=...): fastloss warns for all three metrics"

SKLEARN_UNSUPPORTED: dict = {
    "test_classification::test_average_precision_score_non_binary_class": MULTILABEL,
    "test_classification::test_precision_recall_f1_no_labels_average_none_warn": MULTILABEL,
    "test_classification::test_precision_recall_f1_no_labels_check_warnings": MULTILABEL,
    "test_classification::test_prf_warnings": MULTILABEL,
    "test_classification::test_precision_refcall_f1_score_multilabel_unordered_labels": WARN_FOR,
}

#: peer tests too slow for the default run (marked slow)
SKLEARN_SLOW: set = set()

#: torch.testing._internal loss cases fastloss does not take, by reason
TORCH_UNSUPPORTED: dict = {
    "L1Loss_no_reduce_complex": "complex tensors: fastloss's losses take real inputs (TypeError naming the argument)",
}
