"""The contract of a backend that runs transfer tasks: `TransferContract`.

Subclass it in your plugin's tests; docs/how-to/plugins.md lists what each test checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from automl_bench.backend import build_config
from automl_bench.testing.backend import BackendUnderTest
from automl_bench.testing.data import digit_classes


class TransferContract(BackendUnderTest):
    """What a backend that runs transfer tasks (``BackendSpec(transfer=True)``) must do.
    Define `make_backend`.

    A source model is pretrained on digits 0-4 and adapted to digits 5-9 in every mode, for
    each family in ``families``, with batch norm: a frozen block must keep its statistics too.
    """

    families: tuple[str, ...] = ("mlp", "cnn")
    params: dict[str, dict] = {
        "mlp": {"layers": 2, "units": 16, "batch_norm": True},
        "cnn": {"conv_blocks": 2, "filters": 4, "dense_units": 16, "batch_norm": True},
    }
    training: dict = {"learning_rate": 0.01, "batch_size": 32, "epochs": 2}

    @pytest.fixture(scope="class", params=["mlp", "cnn"])
    @classmethod
    def family(cls, request) -> str:
        if request.param not in cls.families:
            pytest.skip(f"this backend does not transfer {request.param}")
        return request.param

    @pytest.fixture(scope="class")
    @classmethod
    def pretrained(cls, backend, family, tmp_path_factory):
        config = build_config(family, {**cls.params[family], **cls.training})
        model = backend.fit(data=digit_classes((0, 1, 2, 3, 4)), config=config, seed=0, report=lambda r: None)
        path = tmp_path_factory.mktemp("pretrained") / f"{family}.npz"
        backend.save(model, path)
        return path

    def adapt(self, backend, family, mode, pretrained, **overrides):
        config = build_config(family, {**self.params[family], **self.training, "mode": mode, **overrides})
        model = backend.fit(data=digit_classes((5, 6, 7, 8, 9)), config=config, seed=1, report=lambda r: None,
                            **({} if mode == "scratch" else {"pretrained": pretrained}))
        return model, config

    def test_saved_weights_name_every_trunk_block(self, backend, family, pretrained):
        assert sorted(self._read(pretrained)) == list(range(build_config(family, self.params[family]).trunk_blocks))

    @staticmethod
    def _read(path) -> dict[int, dict]:
        """The arrays of each trunk block in a saved file: {block: {name: array}}."""
        import numpy as np

        blocks: dict[int, dict] = {}
        with np.load(path) as arrays:
            for name in arrays.files:
                if name.startswith("block"):
                    blocks.setdefault(int(name[5:].split("/")[0]), {})[name] = arrays[name]
        return blocks

    @pytest.mark.parametrize("mode", ["frozen", "partial"])
    def test_an_adapted_model_can_be_exported(self, backend, family, pretrained, mode, tmp_path):
        """Optional (`Backend.export`): a transfer trial's final model saves like any other, its
        optimizer's per-block rates notwithstanding."""
        model, config = self.adapt(backend, family, mode, pretrained)
        try:
            file = Path(backend.export(model, config, tmp_path / "adapted"))
        except NotImplementedError:
            pytest.skip("this backend saves no models (Backend.export)")
        assert file.is_file() and file.stat().st_size > 0

    @pytest.mark.parametrize("mode", ["scratch", "frozen", "partial", "finetune"])
    def test_each_mode_trains_exactly_its_parameters(self, backend, family, pretrained, mode):
        from automl_bench._model.checks import trainable_parameters

        model, config = self.adapt(backend, family, mode, pretrained)
        expected = trainable_parameters(config, digit_classes((5,)).input_shape, 5, transfer=True)
        assert backend.count_trainable(model) == expected

    @pytest.mark.parametrize("mode", ["frozen", "partial", "finetune"])
    def test_frozen_blocks_keep_the_source_weights_and_trained_ones_move(self, backend, family, pretrained, mode,
                                                                        tmp_path):
        import numpy as np

        model, config = self.adapt(backend, family, mode, pretrained)
        backend.save(model, tmp_path / "adapted.npz")
        before, after = self._read(pretrained), self._read(tmp_path / "adapted.npz")
        trains = config.trainable_blocks()
        for block in before:
            same = all(np.array_equal(before[block][k], after[block][k]) for k in before[block])
            assert same == (block not in trains), (mode, block)

    def test_trunk_learning_rate_factor_slows_the_trunk(self, backend, family, pretrained, tmp_path):
        import numpy as np

        source = self._read(pretrained)
        moved = {}
        for factor in (1.0, 0.01):
            model, _ = self.adapt(backend, family, "finetune", pretrained, trunk_lr_factor=factor)
            backend.save(model, tmp_path / f"{factor}.npz")
            after = self._read(tmp_path / f"{factor}.npz")
            # kernels only (torch: "<module>.weight", Keras: "<layer>:0"), not batch-norm statistics
            moved[factor] = sum(float(np.abs(after[b][k] - source[b][k]).sum()) for b in source
                                for k in source[b] if k.endswith((".weight", ":0")))
        assert 0 < moved[0.01] < 0.1 * moved[1.0], moved

    def test_weights_of_another_architecture_are_a_clear_error(self, backend, family, pretrained):
        wider = {"mlp": {"units": 24}, "cnn": {"filters": 6}}[family]
        with pytest.raises(ValueError, match="do not fit"):
            self.adapt(backend, family, "frozen", pretrained, **wider)
