"""Expected outcomes of the peers' own tests run against fastloss (issue 12).

Keys are ``<peer test module>::<test function>`` (all its parametrisations);
values are the reason, which must appear verbatim in the fidelity table of
docs/fidelity.md (tests/test_conformance_sklearn.py checks it).  Every other
peer test that reaches fastloss must pass."""

DEPRECATED_Y_PRED = ("log_loss(y_pred=...): scikit-learn 1.9 renamed y_pred to y_proba and deprecated the old "
                     "name (removal in 1.11); fastloss.log_loss takes y_proba only")

SKLEARN_UNSUPPORTED: dict = {
    "test_classification::test_log_loss_y_pred_deprecation": DEPRECATED_Y_PRED,
}


#: peer tests too slow for the default run (marked slow)
SKLEARN_SLOW: set = set()

#: torch.testing._internal loss cases fastloss does not take, by reason
TORCH_UNSUPPORTED: dict = {
    "L1Loss_no_reduce_complex": "complex tensors: fastloss's losses take real inputs (TypeError naming the argument)",
}
