"""Ensemble backend: several backends' models (e.g. tfidf + transformer) fitted alike, calibrated, combined.

Fitting: the combination is learned on predictions the members made for rows they were not fitted on. With
`folds: k` (default 5) each member is fitted k times on k-1 folds of the training rows (stratified by label,
identical texts in one fold, see `folds`) and predicts the held-out fold; with `folds: 0` each member is fitted
once and predicts the validation split instead (k times cheaper, for slow members such as transformers, at the
price of learning on fewer rows). Each member's held-out probabilities get a temperature (minimum log-loss),
then the combiner is learned on the calibrated ones (see `combine`). The members kept are then fitted (again,
under folds) on all training rows, each with the validation split as its backend uses it (early stopping).

Predicting: each member predicts every text once, in one batched call, and the combination is a few array
operations, so an ensemble runs at about the speed of its members run one after the other.

Saved as one model folder (see `stored`): the members' own files under members/<i>/, all hashed in the one
manifest, loaded through their own backends' loaders.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit.backends.base import Backend, FittedModel, ModelTags
from toolkit.backends.ensemble import stored
from toolkit.backends.ensemble.combine import (
    Combination,
    align,
    check_decision_metric,
    fit_offsets,
    gold_columns,
    learn,
)
from toolkit.backends.ensemble.params import EnsembleParams
from toolkit.data.types import EpochLog, Examples, Progress
from toolkit.errors import ConfigError, DataError
from toolkit.models.folder import first_problem, invalid

if TYPE_CHECKING:
    import numpy as np


def tags_of(classes: Sequence[type[FittedModel]]) -> ModelTags:
    """An ensemble runs in one process / on a device when any member does."""
    return ModelTags(
        single_process=any(c.tags.single_process for c in classes), uses_device=any(c.tags.uses_device for c in classes)
    )


class EnsembleModel(FittedModel):
    """Fitted members and the learned combination of their probabilities."""

    backend_name = "ensemble"

    def __init__(
        self,
        task: str,
        labels: Sequence[str],
        params: dict[str, Any],
        members: Sequence[FittedModel],
        combination: Combination,
    ) -> None:
        super().__init__(task, labels, params)
        self.members = list(members)
        self.combination = combination
        self.tags = tags_of([type(member) for member in self.members])  # type: ignore[misc]  # per instance

    @classmethod
    def tags_for(cls, manifest: dict[str, Any]) -> ModelTags:
        """The tags of a saved ensemble from its manifest's member backends (before loading it)."""
        from toolkit.backends import get_backend

        members = manifest.get("params", {}).get("members", [])
        if not isinstance(members, list) or not all(isinstance(member, dict) for member in members):
            return cls.tags  # a malformed manifest: the loader refuses it with the reason
        return tags_of([get_backend(str(member.get("name"))).model_class for member in members])

    def member_outputs(
        self, texts: Sequence[str], targets: Sequence[str] | None
    ) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
        """Each member's probabilities (aligned to the ensemble's labels) and unknown-text mask, one call each."""
        probabilities, masks = [], []
        for member in self.members:
            member_probabilities, mask = member.predict_with_unknown(texts, targets)
            probabilities.append(align(member_probabilities, member.labels, self.labels))
            masks.append(mask)
        return probabilities, masks

    def predict_proba(self, texts: Sequence[str], targets: Sequence[str] | None = None) -> np.ndarray:
        return self.predict_with_unknown(texts, targets)[0]

    def predict_with_unknown(
        self, texts: Sequence[str], targets: Sequence[str] | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """The combined probabilities; a text is unknown when every member says so (a member that cannot tell,
        such as a transformer, always reads something, so then no text is flagged: None)."""
        import numpy as np

        probabilities, masks = self.member_outputs(texts, targets)
        combined = self.combination.apply(probabilities)
        if any(mask is None for mask in masks):
            return combined, None
        return combined, np.logical_and.reduce([np.asarray(mask, dtype=bool) for mask in masks])

    def unknown_text_mask(self, texts: Sequence[str]) -> np.ndarray | None:
        import numpy as np

        masks = [member.unknown_text_mask(texts) for member in self.members]
        if any(mask is None for mask in masks):
            return None
        return np.logical_and.reduce([np.asarray(mask, dtype=bool) for mask in masks])

    def truncated_tokens(self, texts: Sequence[str], targets: Sequence[str] | None = None) -> list[int] | None:
        """Per text, the most tokens any member cut off; None when no member cuts."""
        cuts = [cut for cut in (member.truncated_tokens(texts, targets) for member in self.members) if cut is not None]
        return [max(values) for values in zip(*cuts, strict=True)] if cuts else None

    def fit_summary(self) -> dict[str, float]:
        """Per member: its calibration temperature and (weighted_average) its weight, e.g. `member1.weight`; with
        a decision_metric, each label's offset (`offset.disagree`)."""
        weights = self.combination.weights or [None] * len(self.members)
        summary = {}
        for index, (temperature, weight) in enumerate(zip(self.combination.temperatures, weights, strict=True)):
            summary[f"member{index}.temperature"] = float(temperature)
            if weight is not None:
                summary[f"member{index}.weight"] = float(weight)
        offsets = zip(self.labels, self.combination.offsets or [], strict=False)
        return summary | {f"offset.{label}": float(offset) for label, offset in offsets}

    def requirements(self) -> list[str]:
        return list(dict.fromkeys(name for member in self.members for name in member.requirements()))

    def save(self, folder: Path) -> list[str]:
        import numpy as np
        from safetensors.numpy import save_file

        files, saved = [stored.SETTINGS_FILE], []
        for index, (member, temperature) in enumerate(zip(self.members, self.combination.temperatures, strict=True)):
            sub = folder / stored.member_folder(index)
            sub.mkdir(parents=True, exist_ok=True)
            files += [f"{stored.member_folder(index)}/{name}" for name in member.save(sub)]
            weight = self.combination.weights[index] if self.combination.weights else None
            saved.append(
                {
                    "backend": member.backend_name,
                    "labels": member.labels,
                    "params": member.params,
                    "temperature": temperature,
                    "weight": weight,
                }
            )
        settings = {"combiner": self.combination.combiner, "labels": self.labels, "members": saved}
        if self.combination.offsets is not None:
            settings["offsets"] = self.combination.offsets
        (folder / stored.SETTINGS_FILE).write_text(json.dumps(settings, ensure_ascii=False), encoding="utf-8")
        if self.combination.combiner == "stacker":
            arrays = {"coef": self.combination.coef, "intercept": self.combination.intercept}
            save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(folder / stored.ARRAYS_FILE))
            files.append(stored.ARRAYS_FILE)
        return files

    @classmethod
    def files_read(cls, folder: Path, manifest: dict[str, Any]) -> list[str]:
        return stored.files_read(folder, manifest)

    @classmethod
    def load(cls, folder: Path, manifest: dict[str, Any]) -> EnsembleModel:
        """The members through their own loaders, then the combination from ensemble.json (+ the stacker's head)."""
        from pydantic import ValidationError

        try:
            EnsembleParams.model_validate(manifest.get("params", {}))
        except ValidationError as exc:
            raise invalid(folder, first_problem(exc, "manifest.json params")) from exc
        settings = stored.read_settings(folder, manifest)
        coef, intercept = stored.read_head(folder, settings)
        weights = [member.weight for member in settings.members]
        combination = Combination(
            settings.combiner,
            [member.temperature for member in settings.members],
            weights=None if any(w is None for w in weights) else [float(w or 0.0) for w in weights],
            coef=coef,
            intercept=intercept,
            offsets=settings.offsets,
        )
        if combination.combiner == "weighted_average" and combination.weights is None:
            raise invalid(folder, f"{stored.SETTINGS_FILE}: a weighted_average needs a weight for every member")
        members = stored.load_members(folder, manifest, settings)
        return cls(manifest["task"], settings.labels, manifest.get("params", {}), members, combination)


class EnsembleBackend(Backend):
    """Fits `EnsembleModel`s; see `EnsembleParams` (and the module docstring) for what can be set."""

    name = "ensemble"
    Params = EnsembleParams
    model_class = EnsembleModel

    def member_backends(self) -> list[Backend]:
        """One backend per member, its params validated by that backend's Params."""
        from toolkit.backends import get_backend

        params = EnsembleParams.model_validate(self.params.model_dump())
        backends = []
        for member in params.members:
            backend_class = get_backend(member.name)
            backends.append(backend_class(backend_class.Params.model_validate(member.params), self.task, self.seed))
        return backends

    def import_libraries(self) -> None:
        import sklearn.linear_model
        import sklearn.model_selection  # noqa: F401

        for backend in self.member_backends():
            backend.import_libraries()

    def fit(
        self,
        train: Examples,
        validation: Examples | None = None,
        progress: Progress | None = None,
        on_epoch: EpochLog | None = None,
    ) -> EnsembleModel:
        """Held-out member predictions -> calibration + combination; members fitted on all training rows.
        A member that trains in epochs logs them as `member<i>.<metric>` (its final fit only). The members'
        frozen features are computed once across these fits (toolkit.backends.reuse)."""
        from toolkit.backends.reuse import reusing_features

        with reusing_features():
            return self.fit_combined(train, validation, progress, on_epoch)

    def fit_combined(
        self,
        train: Examples,
        validation: Examples | None,
        progress: Progress | None,
        on_epoch: EpochLog | None,
    ) -> EnsembleModel:
        """`fit`'s work: members, their held-out predictions, the combination."""
        params = EnsembleParams.model_validate(self.params.model_dump())
        backends = self.member_backends()
        if not len(train):
            raise DataError("no training rows")
        if params.decision_metric:
            check_decision_metric(params.decision_metric, sorted(set(train.labels)))
        if params.holdout:
            return self.fit_on_holdout(backends, params, train, validation, progress, on_epoch)
        members = fit_members(backends, train, validation, progress, on_epoch)
        labels = agreed_labels(members)
        if params.folds:
            held_probabilities = out_of_fold(backends, train, validation, labels, params, self.seed, progress)
            rows, gold = gold_columns(train.labels, labels)
        else:
            if validation is None or not len(validation):
                raise DataError(
                    "backend.params.folds: 0 learns the combination on the validation split; it is empty "
                    "(or set backend.params.holdout, e.g. 0.2, to learn it on held-out training rows)"
                )
            held_probabilities = aligned_predictions(members, validation, labels)
            rows, gold = gold_columns(validation.labels, labels)
        return self.combined(members, labels, held_probabilities, rows, gold, params, progress)

    def fit_on_holdout(
        self,
        backends: Sequence[Backend],
        params: EnsembleParams,
        train: Examples,
        validation: Examples | None,
        progress: Progress | None,
        on_epoch: EpochLog | None,
    ) -> EnsembleModel:
        """Members fitted without a held-out share of the training rows, the combination learned on their
        predictions for it, then (refit) the members fitted again on every training row."""
        from toolkit.backends.ensemble.folds import holdout_split

        part, held = holdout_split(train, params.holdout, self.seed)
        if progress:
            progress(f"fitting {len(backends)} members on {len(part)} rows; {len(held)} held out for the combination")
        first = fit_members(backends, part, validation, progress, None if params.refit else on_epoch)
        labels = agreed_labels(first)
        held_probabilities = aligned_predictions(first, held, labels)
        if params.refit:
            if progress:
                progress(f"fitting the {len(backends)} members again on all {len(train)} training rows")
            members = fit_members(backends, train, validation, progress, on_epoch)
            # a label only the held-out rows had is known now (the first members gave it probability 0)
            refit_labels = agreed_labels(members)
            held_probabilities = [align(p, labels, refit_labels) for p in held_probabilities]
            labels = refit_labels
        else:
            members = first
        rows, gold = gold_columns(held.labels, labels)
        return self.combined(members, labels, held_probabilities, rows, gold, params, progress)

    def combined(
        self,
        members: Sequence[FittedModel],
        labels: list[str],
        held_probabilities: Sequence[np.ndarray],
        rows: np.ndarray,
        gold: np.ndarray,
        params: EnsembleParams,
        progress: Progress | None,
    ) -> EnsembleModel:
        """The members and the combination learned on their held-out probabilities (`rows` of them, true `gold`)."""
        if progress:
            progress(f"learning the {params.combiner.replace('_', ' ')} of {len(members)} members on {len(rows)} rows")
        held = [p[rows] for p in held_probabilities]
        combination = learn(held, gold, params, self.seed)
        if params.decision_metric:
            combination.offsets = fit_offsets(combination.combine(held), gold, labels, params.decision_metric)
        if progress:
            progress(f"learned: {combination.describe([member.backend_name for member in members])}")
        return EnsembleModel(self.task, labels, params.model_dump(mode="json"), list(members), combination)


def fit_member(
    backend: Backend,
    index: int,
    train: Examples,
    validation: Examples | None,
    progress: Progress | None,
    on_epoch: EpochLog | None = None,
) -> FittedModel:
    """One member fitted by its backend, its progress lines and epoch metrics named after it."""
    name = f"member {index} ({backend.name})"
    said = (lambda line: progress(f"{name}: {line}")) if progress else None
    logged = (
        (lambda epoch, metrics: on_epoch(epoch, {f"member{index}.{k}": v for k, v in metrics.items()}))
        if (on_epoch)
        else None
    )
    return backend.fit(train, validation, said, logged)


def fit_members(
    backends: Sequence[Backend],
    train: Examples,
    validation: Examples | None,
    progress: Progress | None,
    on_epoch: EpochLog | None = None,
) -> list[FittedModel]:
    """Every member fitted on the same rows, in order (see fit_member)."""
    return [fit_member(backend, index, train, validation, progress, on_epoch) for index, backend in enumerate(backends)]


def aligned_predictions(members: Sequence[FittedModel], rows: Examples, labels: Sequence[str]) -> list[np.ndarray]:
    """Each member's probabilities for `rows`, columns in `labels` order: what the combination is learned on."""
    return [align(member.predict_proba(rows.texts, rows.targets), member.labels, labels) for member in members]


def agreed_labels(members: Sequence[FittedModel]) -> list[str]:
    """The ensemble's labels (the first member's order); every member must have the same set."""
    labels = list(members[0].labels)
    for index, member in enumerate(members[1:], start=1):
        if set(member.labels) != set(labels):
            raise ConfigError(
                f"ensemble members disagree on the labels: member 0 has {sorted(labels)}, "
                f"member {index} ({member.backend_name}) {sorted(member.labels)}"
            )
    return labels


def out_of_fold(
    backends: Sequence[Backend],
    train: Examples,
    validation: Examples | None,
    labels: Sequence[str],
    params: EnsembleParams,
    seed: int,
    progress: Progress | None,
) -> list[np.ndarray]:
    """Each member's probabilities for every training row, predicted by a model fitted without that row's fold
    (nor any row with the same text)."""
    import numpy as np

    from toolkit.backends.ensemble.folds import fit_part, held_out_folds, subset

    folds = held_out_folds(train, params.folds, seed)
    out = [np.zeros((len(train), len(labels))) for _ in backends]
    for number, held in enumerate(folds, start=1):
        part, predicted = fit_part(train, held), subset(train, held)
        if progress:
            progress(f"out-of-fold {number}/{len(folds)}: fitting {len(backends)} members on {len(part)} rows")
        for index, backend in enumerate(backends):
            model = fit_member(backend, index, part, validation, None)
            out[index][held] = align(model.predict_proba(predicted.texts, predicted.targets), model.labels, labels)
    return out
