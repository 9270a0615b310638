"""The torch backend's training pieces: optimizer groups (a transferred trunk at its own rate),
the optimizer, and the end of every epoch."""

from __future__ import annotations

from typing import Mapping

from automl_bench import EpochReport
from automl_bench.backend import EpochControl

from .networks import block_of


def param_groups(model, config, transfer: bool) -> list[dict]:
    """Optimizer groups, each with a ``scale`` of the learning rate: the head (and everything, when
    not transferring) at 1; trainable pretrained blocks at ``trunk_lr_factor``. Frozen ones: none."""
    head, trunk = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (trunk if transfer and block_of(model, name) is not None else head).append(p)
    groups = [{"params": head, "scale": 1.0}]
    if trunk:
        groups.append({"params": trunk, "scale": config.trunk_lr_factor,
                       "lr": config.learning_rate * config.trunk_lr_factor})
    return groups


class Epochs:
    """The end of every epoch, for every torch model: report the metrics, let `EpochControl`
    decide, copy the weights (batch-norm statistics too) of the best epoch under restore_best,
    and set each optimizer group's rate (``lr = decision * scale``)."""

    def __init__(self, model, opt, config, report) -> None:
        self.model, self.opt, self.config, self.report = model, opt, config, report
        self.control = EpochControl(config)
        self.best: dict | None = None

    def end(self, epoch: int, train_loss: float, val: Mapping[str, float]) -> bool:
        """Close ``epoch``; True when training should stop."""
        metrics = {"train_loss": train_loss, "val_loss": val["loss"], "val_accuracy": val["accuracy"],
                   "learning_rate": self.opt.param_groups[0]["lr"]}
        self.report(EpochReport(epoch, metrics))
        decision = self.control.after_epoch(metrics)
        if self.config.restore_best and decision.improved:
            self.best = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        for group in self.opt.param_groups:
            group["lr"] = decision.learning_rate * group["scale"]
        return decision.stop

    def finish(self):
        """The model, with the best epoch's weights under restore_best."""
        if self.best is not None:
            self.model.load_state_dict(self.best)
        return self.model


def make_optimizer(torch, config, params):
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.learning_rate, betas=(config.beta1, config.beta2), eps=config.epsilon)
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.learning_rate, momentum=config.momentum,
                               nesterov=config.nesterov and config.momentum > 0)
    return torch.optim.RMSprop(params, lr=config.learning_rate, alpha=config.rho, eps=config.epsilon,
                               momentum=config.momentum)
