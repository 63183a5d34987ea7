"""Reference for knowledge_neuron_edit_weight_columns: the edit runs under torch.no_grad()."""
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

from editing import edit_knowledge
from model import TinyEncoder

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import kit  # noqa: E402


def run():
    torch.manual_seed(0)
    model = TinyEncoder().double()
    prompts = torch.randn(4, 3, dtype=torch.float64)
    answers = torch.tensor([0, 1, 2, 0])
    original_embedding = model.head.weight[0].detach().clone()
    target_embedding = model.head.weight[2].detach().clone()

    edit_knowledge(model, 1, [0, 2], original_embedding, target_embedding, [0.5, 0.25], [1.0, 0.5])

    logits = model(prompts)
    loss = F.cross_entropy(logits, answers)
    loss.backward()
    dense = model.layer[1].output.dense
    return {"logits": logits.detach(), "edited.weight": dense.weight.detach(), "edited.weight.grad": dense.weight.grad}


def oracle():
    """The edited weight built out of place; logits by a hand-written forward; gradient by central differences."""
    torch.manual_seed(0)
    model = TinyEncoder().double()
    prompts = torch.randn(4, 3, dtype=torch.float64)
    answers = torch.tensor([0, 1, 2, 0])
    original_embedding = model.head.weight[0].detach().clone()
    target_embedding = model.head.weight[2].detach().clone()
    dense = model.layer[1].output.dense
    with torch.no_grad():
        shift = torch.zeros_like(dense.weight)
        shift[:, 0] = -0.5 * original_embedding + 1.0 * target_embedding
        shift[:, 2] = -0.25 * original_embedding + 0.5 * target_embedding
        edited = dense.weight.detach() + shift
    weight = edited.clone()

    def logits():
        with torch.no_grad():
            h = prompts
            for i, block in enumerate(model.layer):
                w = weight if i == 1 else block.output.dense.weight
                h = h + torch.relu(block.intermediate(h)) @ w.T + block.output.dense.bias
            return model.head(h)

    def loss():
        return F.cross_entropy(logits(), answers)

    return {"logits": logits(), "edited.weight": edited, "edited.weight.grad": kit.finite_difference(loss, weight)}
