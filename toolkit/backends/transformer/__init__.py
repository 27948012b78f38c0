"""The transformer backend: fine-tune a Hugging Face encoder on texts or (target, text) pairs.

- `model`: the backend, its `TransformerParams` and the fitted `TransformerModel` (predict, save).
- `windows`: tokens into overlapping windows and window probabilities back to rows (no torch).
- `inference`: device choice and batching windows through the network (pooled width buckets).
- `training`: the training loop; it yields one record per epoch to its caller.
- `loading`: safe `from_pretrained` (safetensors only, no remote code) and reloading saved models.
- `pooling`: the mean-pooled classification head.
"""
