"""Knowledge editing: move the value vectors of selected neurons from one answer to another."""
import torch


def edit_knowledge(model, layer, positions, original_embedding, target_embedding, lambda_1, lambda_2):
    dense = model.layer[layer].output.dense
    with torch.no_grad():
        for i, pos in enumerate(positions):
            dense.weight[:, pos] -= original_embedding * lambda_1[i]
            dense.weight[:, pos] += target_embedding * lambda_2[i]
    return model
