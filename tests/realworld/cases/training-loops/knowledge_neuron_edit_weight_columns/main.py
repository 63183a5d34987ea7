"""Edit the value vectors of a few "knowledge neurons", then measure the edited model and its gradient.

Reproduces: https://github.com/Hunter-DDM/knowledge-neurons/issues/14
In our words: the editing script subtracts the original answer's embedding from, and adds the
target answer's embedding to, selected columns of a feed-forward output weight with
`weight[:, pos] -= ...` and `+= ...`; on current torch that line raises because the weight is a
parameter that requires grad. The edit lives in a helper module and receives the model.
"""
import torch
import torch.nn.functional as F

from editing import edit_knowledge
from model import TinyEncoder

CASE = {
    "kind": "hazard",
    "group": "training-loops",
    "mechanism": "parameter-slice-update-outside-no-grad",
    "expect": "raises",
    "error": "a view of a leaf Variable that requires grad",
    "report": "https://github.com/Hunter-DDM/knowledge-neurons/issues/14",
}


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
