"""Mean pooling: a classifier on the average of an encoder's token states instead of its [CLS] head.

Sentence encoders such as all-MiniLM-L6-v2 are trained so that the *mean* of their token states carries
the meaning of a text; their [CLS] state and pooler are left over from pre-training. Fine-tuning a linear
layer on the mean therefore starts from the representation the encoder was built for, which matters on
small training sets (SemEval's 2,300 tweets). `pooling: mean` in the transformer backend's params picks it.

Saved as the encoder's own files (config.json with the label map, model.safetensors) plus the head's
weights in `head.safetensors`; both are read without running code. Imports torch: import it lazily.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from transformers.modeling_outputs import SequenceClassifierOutput

HEAD_FILE = "head.safetensors"


def mean_pool(states: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
    """Average of the token states over the real (unmasked) tokens; every token when there is no mask."""
    if attention_mask is None:
        return states.mean(dim=1)
    mask = attention_mask.unsqueeze(-1).to(states.dtype)
    return (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)


class MeanPooledClassifier(torch.nn.Module):
    """`encoder` (an `AutoModel`) + dropout + linear layer on the mean of its last hidden states.

    Called like a `transformers` sequence classifier (input_ids, attention_mask, token_type_ids ->
    an output with `.logits`), so training, inference and saving treat both kinds alike."""

    def __init__(self, encoder: Any, n_labels: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.config = encoder.config
        dropout = getattr(self.config, "classifier_dropout", None)
        if dropout is None:
            dropout = getattr(self.config, "hidden_dropout_prob", 0.1)
        self.dropout = torch.nn.Dropout(dropout)
        self.classifier = torch.nn.Linear(self.config.hidden_size, n_labels)
        torch.nn.init.normal_(self.classifier.weight, std=getattr(self.config, "initializer_range", 0.02))
        torch.nn.init.zeros_(self.classifier.bias)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
    ) -> SequenceClassifierOutput:
        inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            inputs["token_type_ids"] = token_type_ids
        states = self.encoder(**inputs).last_hidden_state
        return SequenceClassifierOutput(logits=self.classifier(self.dropout(mean_pool(states, attention_mask))))

    def save_pretrained(self, folder: Path) -> None:
        """The encoder as `transformers` saves it, and the head's weights beside it (safetensors)."""
        from safetensors.torch import save_file

        self.encoder.save_pretrained(folder)
        head = {
            f"classifier.{name}": tensor.detach().contiguous() for name, tensor in self.classifier.state_dict().items()
        }
        save_file(head, str(Path(folder) / HEAD_FILE))

    def load_head(self, folder: Path) -> None:
        """Restore a saved head (safetensors: tensors only, never code); its shape must match the labels."""
        from safetensors.torch import load_file

        head = load_file(str(Path(folder) / HEAD_FILE))
        self.classifier.load_state_dict({name.removeprefix("classifier."): tensor for name, tensor in head.items()})
