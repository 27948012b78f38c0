"""The ensemble backend: other backends' models fitted alike, calibrated, and combined into one model.

- `params`: `EnsembleParams` (members, combiner, folds, calibration), members validated by their own backends.
- `model`: the backend and the fitted `EnsembleModel` (fit on held-out predictions, predict, save, load).
- `folds`: out-of-fold splits, stratified by label, identical texts kept in one fold.
- `combine`: temperature calibration, the weighted average and the logistic stacker (plain NumPy at predict).
- `stored`: ensemble.json, the stacker's arrays, and loading each member from members/<i>/.
"""
