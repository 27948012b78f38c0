"""The saved model: a folder of plain files with a hashed manifest, and predictions as a table.

- `folder`: save/load a model folder (manifest, sha256 of every file, JSON + safetensors only).
- `frame`: a model's predictions for a DataFrame of texts (what the MLflow pyfunc wrapper serves).
"""
