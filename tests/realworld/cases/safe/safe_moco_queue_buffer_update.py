"""A queue of negatives and its pointer, registered buffers written in place under no_grad.

Pattern from: https://github.com/facebookresearch/moco/blob/main/moco/builder.py
In our words: a contrastive model keeps a `queue` buffer of past keys and an integer `queue_ptr`
buffer; a `@torch.no_grad()` method writes the new keys into a slice of the queue and advances the
pointer. The keys come from a momentum encoder updated in place under no_grad too. The queue is read
by the loss before it is overwritten, but it is not a tensor autograd tracks, so the write is safe.
"""
import torch
from torch import nn
from torch.nn import functional as F

CASE = {
    "kind": "safe",
    "group": "safe",
    "mechanism": "buffer-queue-written-under-no-grad",
    "expect": "runs",
    "report": "https://github.com/facebookresearch/moco/blob/main/moco/builder.py",
}


class Contrast(nn.Module):
    def __init__(self, dim=3, size=4, momentum=0.9, temperature=0.5):
        super().__init__()
        self.encoder_q = nn.Linear(5, dim)
        self.encoder_k = nn.Linear(5, dim)
        self.encoder_k.load_state_dict(self.encoder_q.state_dict())
        for p in self.encoder_k.parameters():
            p.requires_grad = False
        self.m = momentum
        self.t = temperature
        self.register_buffer("queue", F.normalize(torch.randn(dim, size), dim=0))
        self.register_buffer("queue_ptr", torch.zeros(1, dtype=torch.long))

    @torch.no_grad()
    def _momentum_update(self):
        for q, k in zip(self.encoder_q.parameters(), self.encoder_k.parameters()):
            k.data = k.data * self.m + q.data * (1.0 - self.m)

    @torch.no_grad()
    def _enqueue(self, keys):
        batch = keys.shape[0]
        ptr = int(self.queue_ptr)
        self.queue[:, ptr:ptr + batch] = keys.T
        self.queue_ptr[0] = (ptr + batch) % self.queue.shape[1]

    def forward(self, a, b):
        q = F.normalize(self.encoder_q(a), dim=1)
        with torch.no_grad():
            self._momentum_update()
            k = F.normalize(self.encoder_k(b), dim=1)
        positive = (q * k).sum(dim=1, keepdim=True)
        negative = q @ self.queue.clone().detach()
        logits = torch.cat([positive, negative], dim=1) / self.t
        self._enqueue(k)
        return F.cross_entropy(logits, torch.zeros(logits.shape[0], dtype=torch.long))


def run():
    torch.manual_seed(0)
    model = Contrast().double()
    a = torch.randn(2, 5, dtype=torch.float64)
    b = a + 0.1 * torch.randn(2, 5, dtype=torch.float64)
    loss = model(a, b)
    loss.backward()
    second = model(b, a)
    return {
        "loss": loss.detach(),
        "second": second.detach(),
        "encoder_q.weight.grad": model.encoder_q.weight.grad,
        "queue": model.queue,
        "queue_ptr": model.queue_ptr.double(),
    }
