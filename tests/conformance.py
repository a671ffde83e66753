"""Expected outcomes of the peers' own tests run against fastloss (issue 12).

Keys are ``<peer test module>::<test function>`` (all its parametrisations);
values are the reason, which must appear verbatim in the fidelity table of
docs/fidelity.md (tests/test_conformance_sklearn.py checks it).  Every other
peer test that reaches fastloss must pass."""

MULTILABEL = "multilabel-indicator or multioutput y_true (2-D 0/1 matrices), average='samples'"
WARN_FOR = "precision_recall_fscore_support(warn_for=...): fastloss warns for all three metrics"

SKLEARN_UNSUPPORTED: dict = {
    f"test_{mod}::test_{name}": reason
    for mod, names, reason in [
        ("ranking", ["roc_curve_toydata", "precision_recall_curve_toydata",
                     "average_precision_score_multilabel_pos_label_errors"], MULTILABEL),
        ("classification", [
            "average_precision_score_non_binary_class", "fscore_warnings", "precision_warnings", "recall_warnings",
            "precision_recall_f1_no_labels", "precision_recall_f1_no_labels_average_none",
            "precision_recall_f1_no_labels_average_none_warn", "precision_recall_f1_no_labels_check_warnings",
            "precision_recall_f1_score_multilabel_1", "precision_recall_f1_score_multilabel_2",
            "precision_recall_f1_score_with_an_empty_prediction", "precision_recall_f_extra_labels",
            "precision_recall_f_ignored_labels", "prf_average_binary_data_non_binary",
            "prf_no_warnings_if_zero_division_set", "prf_warnings",
        ], MULTILABEL),
        ("classification", ["precision_refcall_f1_score_multilabel_unordered_labels"], WARN_FOR),
    ]
    for name in names
}

#: peer tests too slow for the default run (marked slow)
SKLEARN_SLOW: set = set()

#: torch.testing._internal loss cases fastloss does not take, by reason
TORCH_UNSUPPORTED: dict = {
    "L1Loss_no_reduce_complex": "complex tensors: fastloss's losses take real inputs (TypeError naming the argument)",
}
