"""scikit-learn's metric names routed to fastloss, for running scikit-learn's
own tests against fastloss (tests/test_conformance_sklearn.py).

Honest by construction: each shim forwards its arguments unchanged (with
scikit-learn's defaults, e.g. ``multi_class='raise'``) and returns
fastloss's result unchanged.  The only adaptations are interface ones:
names (``precision_score`` etc. are ``precision_recall_fscore`` with the
``warn_for`` scikit-learn passes).
"""
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


def precision_recall_fscore_support(y_true, y_pred, *, beta=1.0, labels=None, pos_label=1, average=None,
                                    warn_for=_ALL, sample_weight=None, zero_division="warn"):
    return fastloss.precision_recall_fscore(y_true, y_pred, beta=beta, labels=labels, pos_label=pos_label,
                                            average=average, warn_for=warn_for, sample_weight=sample_weight,
                                            zero_division=zero_division)


def precision_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary", sample_weight=None,
                    zero_division="warn"):
    return precision_recall_fscore_support(y_true, y_pred, labels=labels, pos_label=pos_label, average=average,
                                           warn_for=("precision",), sample_weight=sample_weight,
                                           zero_division=zero_division)[0]


def recall_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary", sample_weight=None,
                 zero_division="warn"):
    return precision_recall_fscore_support(y_true, y_pred, labels=labels, pos_label=pos_label, average=average,
                                           warn_for=("recall",), sample_weight=sample_weight,
                                           zero_division=zero_division)[1]


def fbeta_score(y_true, y_pred, *, beta, labels=None, pos_label=1, average="binary", sample_weight=None,
                zero_division="warn"):
    return precision_recall_fscore_support(y_true, y_pred, beta=beta, labels=labels, pos_label=pos_label,
                                           average=average, warn_for=("f-score",), sample_weight=sample_weight,
                                           zero_division=zero_division)[2]


def f1_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary", sample_weight=None,
             zero_division="warn"):
    return fbeta_score(y_true, y_pred, beta=1, labels=labels, pos_label=pos_label, average=average,
                       sample_weight=sample_weight, zero_division=zero_division)


def multilabel_confusion_matrix(y_true, y_pred, *, sample_weight=None, labels=None, samplewise=False):
    return fastloss.multilabel_confusion_matrix(y_true, y_pred, sample_weight=sample_weight, labels=labels,
                                                samplewise=samplewise)


def accuracy_score(y_true, y_pred, *, normalize=True, sample_weight=None):
    return fastloss.accuracy(y_true, y_pred, normalize=normalize, sample_weight=sample_weight)


def balanced_accuracy_score(y_true, y_pred, *, sample_weight=None, adjusted=False):
    return fastloss.balanced_accuracy(y_true, y_pred, sample_weight=sample_weight, adjusted=adjusted)


def matthews_corrcoef(y_true, y_pred, *, sample_weight=None):
    return fastloss.matthews_corrcoef(y_true, y_pred, sample_weight=sample_weight)


def cohen_kappa_score(y1, y2, *, labels=None, weights=None, sample_weight=None, replace_undefined_by=float("nan")):
    return fastloss.cohen_kappa(y1, y2, labels=labels, weights=weights, sample_weight=sample_weight,
                                replace_undefined_by=replace_undefined_by)


def log_loss(y_true, y_proba, *, normalize=True, sample_weight=None, labels=None):
    return fastloss.log_loss(y_true, y_proba, normalize=normalize, sample_weight=sample_weight, labels=labels)


def brier_score_loss(y_true, y_proba, *, sample_weight=None, pos_label=None, labels=None, scale_by_half="auto"):
    return fastloss.brier_score(y_true, y_proba, sample_weight=sample_weight, pos_label=pos_label, labels=labels,
                                scale_by_half=scale_by_half)


def top_k_accuracy_score(y_true, y_score, *, k=2, normalize=True, sample_weight=None, labels=None):
    return fastloss.top_k_accuracy(y_true, y_score, k=k, normalize=normalize, sample_weight=sample_weight,
                                   labels=labels)


def det_curve(y_true, y_score, pos_label=None, sample_weight=None, drop_intermediate=False):
    return fastloss.det_curve(y_true, y_score, pos_label=pos_label, sample_weight=sample_weight,
                              drop_intermediate=drop_intermediate)


def classification_report(y_true, y_pred, *, labels=None, target_names=None, sample_weight=None, digits=2,
                          output_dict=False, zero_division="warn"):
    return fastloss.classification_report(y_true, y_pred, labels=labels, target_names=target_names,
                                          sample_weight=sample_weight, digits=digits, output_dict=output_dict,
                                          zero_division=zero_division)


def calibration_curve(y_true, y_prob, *, pos_label=None, n_bins=5, strategy="uniform"):
    return fastloss.calibration_curve(y_true, y_prob, pos_label=pos_label, n_bins=n_bins, strategy=strategy)


#: scikit-learn name -> shim (the names a peer test must use to be run here)
SHIMS = {name: obj for name, obj in list(globals().items()) if callable(obj) and not name.startswith("_")
         and name not in ("fastloss",)}
