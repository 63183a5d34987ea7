"""A small MAML meta-learner around any regression module."""
import torch
from torch import nn
from torch.func import functional_call


class MetaLearner:
    def __init__(self, model, inner_lr=0.1, outer_lr=0.05):
        self.model = model
        self.inner_lr = inner_lr
        self.criterion = nn.MSELoss()
        self.meta_optimizer = torch.optim.SGD(self.model.parameters(), lr=outer_lr)

    def inner_update(self, model, support_x, support_y):
        params = dict(model.named_parameters())
        loss = self.criterion(functional_call(model, params, (support_x,)), support_y)
        grads = torch.autograd.grad(loss, list(params.values()), create_graph=True)
        return {name: param - self.inner_lr * grad for (name, param), grad in zip(params.items(), grads)}

    def outer_update(self, meta_loss):
        self.meta_optimizer.zero_grad()
        meta_loss.backward()
        self.meta_optimizer.step()

    def meta_train_step(self, tasks):
        meta_loss = 0
        for support_x, support_y, query_x, query_y in tasks:
            fast_weights = self.inner_update(self.model, support_x, support_y)
            task_loss = self.criterion(functional_call(self.model, fast_weights, (query_x,)), query_y)
            meta_loss = meta_loss + task_loss
        meta_loss = meta_loss / len(tasks)
        self.outer_update(meta_loss)
        return meta_loss.detach()
