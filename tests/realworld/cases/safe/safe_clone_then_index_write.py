"""Box conversion that clones its input and then writes the new coordinates by index.

Pattern from: https://github.com/ultralytics/yolov5/blob/master/utils/general.py
In our words: `y = x.clone()` followed by `y[..., 0] = x[..., 0] - x[..., 2] / 2` and so on. The
writes go into the clone, which nothing saved (clone's backward needs nothing), and every value
written is read from the untouched original, so gradients flow exactly as intended.
"""
import torch

CASE = {
    "kind": "safe",
    "group": "safe",
    "mechanism": "index-writes-into-a-clone",
    "expect": "runs",
    "report": "https://github.com/ultralytics/yolov5/blob/master/utils/general.py",
}


def xywh2xyxy(x):
    y = x.clone()
    y[..., 0] = x[..., 0] - x[..., 2] / 2
    y[..., 1] = x[..., 1] - x[..., 3] / 2
    y[..., 2] = x[..., 0] + x[..., 2] / 2
    y[..., 3] = x[..., 1] + x[..., 3] / 2
    return y


def box_area(boxes):
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def run():
    torch.manual_seed(0)
    pred = torch.rand(4, 4, dtype=torch.float64).requires_grad_()
    corners = xywh2xyxy(pred)
    loss = box_area(corners).sum() + corners.pow(2).mean()
    loss.backward()
    return {"corners": corners.detach(), "loss": loss.detach(), "pred.grad": pred.grad}
