"""scikit-learn's metric names routed to fastloss, for running scikit-learn's
own tests against fastloss (tests/test_conformance_sklearn.py).

Honest by construction: each shim forwards its arguments unchanged (with
scikit-learn's defaults, e.g. ``multi_class='raise'``) and returns
fastloss's result unchanged.  The only adaptations are interface ones:
names, and ``warn_for`` (which of precision/recall/F-score may warn; fastloss
fixes it at all three, so the shim drops fastloss's warnings about the
others, as ``warn_for`` does in scikit-learn).  A ``warn_for`` other than
scikit-learn's default in ``precision_recall_fscore_support`` is refused.
"""
import warnings

import fastloss

_ALL = ("precision", "recall", "f-score")


def roc_auc_score(y_true, y_score, *, average="macro", sample_weight=None, max_fpr=None, multi_class="raise",
                  labels=None):
    return fastloss.roc_auc(y_true, y_score, average=average, sample_weight=sample_weight, max_fpr=max_fpr,
                            multi_class=multi_class, labels=labels)


def average_precision_score(y_true, y_score, *, average="macro", pos_label=1, sample_weight=None):
    return fastloss.average_precision(y_true, y_score, average=average, pos_label=pos_label,
                                      sample_weight=sample_weight)


def roc_curve(y_true, y_score, *, pos_label=None, sample_weight=None, drop_intermediate=True):
    return fastloss.roc_curve(y_true, y_score, pos_label=pos_label, sample_weight=sample_weight,
                              drop_intermediate=drop_intermediate)


def precision_recall_curve(y_true, y_score, *, pos_label=None, sample_weight=None, drop_intermediate=False):
    return fastloss.precision_recall_curve(y_true, y_score, pos_label=pos_label, sample_weight=sample_weight,
                                           drop_intermediate=drop_intermediate)


def confusion_matrix(y_true, y_pred, *, labels=None, sample_weight=None, normalize=None):
    return fastloss.confusion_matrix(y_true, y_pred, labels=labels, sample_weight=sample_weight, normalize=normalize)


def _prf(y_true, y_pred, warn_for, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fastloss.precision_recall_fscore(y_true, y_pred, **kw)
    for w in caught:
        text = str(w.message)
        metric = next((m for m in _ALL if text.lower().startswith(m)), None)
        if metric is None or metric in warn_for:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return out


def precision_recall_fscore_support(y_true, y_pred, *, beta=1.0, labels=None, pos_label=1, average=None,
                                    warn_for=_ALL, sample_weight=None, zero_division="warn"):
    if tuple(warn_for) != _ALL and set(warn_for) != set(_ALL):
        raise NotImplementedError("fastloss.precision_recall_fscore: warn_for is fixed (all three metrics)")
    return _prf(y_true, y_pred, _ALL, beta=beta, labels=labels, pos_label=pos_label, average=average,
                sample_weight=sample_weight, zero_division=zero_division)


def precision_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary", sample_weight=None,
                    zero_division="warn"):
    return _prf(y_true, y_pred, ("precision",), labels=labels, pos_label=pos_label, average=average,
                sample_weight=sample_weight, zero_division=zero_division)[0]


def recall_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary", sample_weight=None,
                 zero_division="warn"):
    return _prf(y_true, y_pred, ("recall",), labels=labels, pos_label=pos_label, average=average,
                sample_weight=sample_weight, zero_division=zero_division)[1]


def fbeta_score(y_true, y_pred, *, beta, labels=None, pos_label=1, average="binary", sample_weight=None,
                zero_division="warn"):
    return _prf(y_true, y_pred, ("f-score",), beta=beta, labels=labels, pos_label=pos_label, average=average,
                sample_weight=sample_weight, zero_division=zero_division)[2]


def f1_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary", sample_weight=None,
             zero_division="warn"):
    return fbeta_score(y_true, y_pred, beta=1, labels=labels, pos_label=pos_label, average=average,
                       sample_weight=sample_weight, zero_division=zero_division)


#: scikit-learn name -> shim (the names a peer test must use to be run here)
SHIMS = {name: obj for name, obj in list(globals().items()) if callable(obj) and not name.startswith("_")
         and name not in ("fastloss", "warnings")}
