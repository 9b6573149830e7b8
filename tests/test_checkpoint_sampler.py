"""`worldsim sample` samples with the sampler its checkpoint records (what the model was trained
and evaluated with), and its context level, not the schema's defaults; a `sampler.*=` or
`context_level=` knob on the command line still wins, and one printed line says which settings
came from where."""

import pytest

from tests.test_world_model import tiny_module, tiny_vae
from worldsim.config import load_config, to_object
from worldsim.diffusion.samplers import SamplerConfig, make_sampler
from worldsim.jobs import sample
from worldsim.training import world_model
from worldsim.training.world_model import export_checkpoint

TRAINED = SamplerConfig("heun", 2, 3.0)  # none of the schema's defaults (euler, 30, 1)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("model")
    module = tiny_module(sampler=vars(TRAINED))
    module.sample_cfg.context_level = 0.2  # the file's own, as pretrained:doom ships
    module.latent_info.autoencoder = tiny_vae(tmp / "vae.ckpt")
    return export_checkpoint(module, str(tmp / "dit.ckpt"))


@pytest.mark.parametrize(
    "given, used, origin",
    [
        (
            [],
            TRAINED,
            "from the checkpoint: name, steps, shift, eta); context level 0.2 (from the checkpoint",
        ),
        (
            ["sampler.steps=3", "context_level=0"],
            SamplerConfig("heun", 3, 3.0),
            "from the command line: steps; from the checkpoint: name, shift, eta); "
            "context level 0 (from the command line",
        ),
    ],
)
def test_sample_uses_the_checkpoints_sampler_unless_the_command_line_sets_a_knob(
    ckpt, tmp_path, monkeypatch, capsys, given, used, origin
):
    built = []  # the configs the world model builds its samplers from
    monkeypatch.setattr(
        world_model, "make_sampler", lambda cfg: built.append(cfg) or make_sampler(cfg)
    )
    args = [f"ckpt={ckpt}", "mode=image", "height=16", "width=16", "progress=false"]
    sample.run(to_object(load_config(sample.Config, [*args, f"out={tmp_path}", *given])))
    assert built == [used]
    line = f"sample: sampler heun, {used.steps} steps, shift 3, eta 0 ({origin})"
    assert line in capsys.readouterr().out.splitlines()
