"""The transformer backend: fine-tune a Hugging Face encoder on texts or (target, text) pairs.

- `params`: `TransformerParams`, the settings a config may give (no torch needed; re-exported by `model`).
- `model`: the backend and the fitted `TransformerModel` (predict, save, load).
- `windows`: tokens into overlapping windows and window probabilities back to rows (no torch).
- `device`: which device, precision and attention kernels; host arrays onto the device.
- `inference`: batching windows through the network (device batches, pooled width buckets, background
  tokenization); training cuts its batches the same way.
- `training`: the training loop; it hands each epoch's metrics to the caller's `on_epoch`.
- `loading`: safe `from_pretrained` (safetensors only, no remote code) and reloading saved models.
- `pooling`: the mean-pooled classification head.
- `light`: saved BERT models run for prediction with torch and `tokenizers` only (no transformers import: a
  faster `toolkit predict`); anything it does not support loads through `loading` as before.
"""
