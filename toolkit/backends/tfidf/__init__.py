"""The tfidf backend: n-grams (and optional frozen sentence embeddings) into a linear classifier.

- `params`: `TfidfParams`, the settings a config may give (re-exported by `model`).
- `model`: the backend and the fitted `TfidfModel` (save/load as JSON + safetensors).
- `features`: the feature matrix in one fixed column order (text, target, relation, embedding blocks).
- `pair_features`: how a stance target relates to a text (similarities, overlaps, cue words).
- `embeddings`: a frozen mean-pooled sentence encoder whose vectors join the n-grams.
"""
