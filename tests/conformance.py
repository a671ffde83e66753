"""Expected outcomes of the peers' own tests run against fastloss (issue 12).

Keys are ``<peer test module>::<test function>`` (all its parametrisations);
values are the reason, which must appear verbatim in the fidelity table of
docs/fidelity.md (tests/test_conformance_sklearn.py checks it).  Every other
peer test that reaches fastloss must pass."""

DEPRECATED_Y_PRED = ("log_loss(y_pred=...): scikit-learn 1.9 renamed y_pred to y_proba and deprecated the old "
                     "name (removal in 1.11); fastloss.log_loss takes y_proba only")

CM_MULTILABEL = ("confusion_matrix on (N, K) label indicators: per-label 2x2 matrices as multilabel_confusion_matrix "
                 "(issue 16); scikit-learn raises 'multilabel-indicator is not supported'")

#: keys: ``module::test`` (all parametrisations) or ``module::test[metric name]``
#: (one value of a parametrisation over test_common's metric names)
SKLEARN_UNSUPPORTED: dict = {
    "test_classification::test_log_loss_y_pred_deprecation": DEPRECATED_Y_PRED,
    "test_common::test_format_invariance_with_1d_vectors[confusion_matrix]": CM_MULTILABEL,
    "test_common::test_format_invariance_with_1d_vectors[normalized_confusion_matrix]": CM_MULTILABEL,
}


#: peer tests too slow for the default run (marked slow)
SKLEARN_SLOW: set = {
    # fits CalibratedClassifierCV on sparse data (~15 s here); fastloss only scores it (brier_score_loss)
    "test_calibration::test_calibration",
    "test_calibration::test_temperature_scaling",  # ~7 s, fits models
    "test_calibration::test_calibration_frozen",
    "test_common::test_mixed_array_api_namespace_input_compliance",  # ~4 s of skipped device combinations
}

#: torch.testing._internal loss cases fastloss does not take, by reason
TORCH_UNSUPPORTED: dict = {
    "L1Loss_no_reduce_complex": "complex tensors: fastloss's losses take real inputs (TypeError naming the argument)",
}
