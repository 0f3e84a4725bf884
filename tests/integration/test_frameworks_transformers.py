"""transformers' ``Trainer(report_to="wandb")`` with ``WANDB_WATCH=all`` and ``WANDB_LOG_MODEL=checkpoint``, unchanged.

The model is a tiny BERT built from a config in code: nothing is downloaded (``HF_HUB_OFFLINE=1``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import jupyter_tracker
from tests.extras import FRAMEWORKS, missing_module_mark
from tests.integration.framework_runs import only_run, run_script

# looked up, not imported: the tests' scripts import transformers
pytestmark = [pytest.mark.frameworks, pytest.mark.integration, missing_module_mark("transformers", "frameworks", FRAMEWORKS)]

TRAIN = """
    import torch
    from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

    torch.manual_seed(0)
    config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=16, num_labels=2,
                        id2label={0: "neg", 1: "pos"}, label2id={"neg": 0, "pos": 1})
    model = BertForSequenceClassification(config)

    class Tokens(torch.utils.data.Dataset):
        def __init__(self, count, seed):
            generator = torch.Generator().manual_seed(seed)
            self.ids = torch.randint(0, 50, (count, 8), generator=generator)
            self.labels = (self.ids[:, 0] > 25).long()

        def __len__(self):
            return len(self.ids)

        def __getitem__(self, index):
            return {"input_ids": self.ids[index], "labels": self.labels[index]}

    arguments = TrainingArguments(output_dir="out", report_to="wandb", max_steps=100, logging_steps=25,
                                  per_device_train_batch_size=4, eval_strategy="steps", eval_steps=50,
                                  save_strategy="steps", save_steps=50, use_cpu=True, run_name="tiny-bert", disable_tqdm=True,
                                  learning_rate=1e-3, dataloader_num_workers=0)
    trainer = Trainer(model=model, args=arguments, train_dataset=Tokens(64, 1), eval_dataset=Tokens(8, 2))
    trainer.train()
    print("parameters", model.num_parameters())
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    directory = tmp_path_factory.mktemp("transformers")
    output = run_script(directory, TRAIN, JUPYTER_TRACKER_AS_WANDB="1", WANDB_WATCH="all",
                        WANDB_PROJECT="transformers", WANDB_LOG_MODEL="checkpoint")
    return directory, output


def test_the_run_is_named_and_finished(trained):
    run = only_run(trained[0], "transformers")
    assert run.name == "tiny-bert"
    assert run.state == "finished"


def test_the_config_holds_the_model_config_with_int_label_keys_and_the_arguments(trained):
    directory, output = trained
    config = dict(only_run(directory, "transformers").config)
    assert config["id2label.0"] == "neg" and config["id2label.1"] == "pos"
    assert config["label2id.pos"] == 1
    assert config["learning_rate"] == 1e-3 and config["max_steps"] == 100
    assert f"parameters {config['model/num_parameters']}" in output


def test_losses_are_at_their_global_steps(trained):
    run = only_run(trained[0], "transformers")
    rows = run.history(pandas=False)
    assert [row["train/global_step"] for row in rows if "train/loss" in row] == [25, 50, 75, 100]
    assert [row["train/global_step"] for row in rows if "eval/loss" in row] == [50, 100]
    assert run.summary["train/global_step"] == 100
    assert run.summary["train_loss"] > 0  # the trainer's single-value results go to the summary


def test_wandb_watch_all_logs_histograms(trained):
    rows = only_run(trained[0], "transformers").history(pandas=False)
    keys = set().union(*rows)
    name = "bert.embeddings.word_embeddings.weight"
    assert f"gradients/{name}" in keys and f"parameters/{name}" in keys
    assert any(key.startswith("gradients/classifier.") for key in keys)


def test_each_checkpoint_is_an_artifact_version_with_its_files(trained):
    directory, _ = trained
    api = jupyter_tracker.Api(overrides={"dir": str(directory)})
    versions = {tuple(sorted(artifact.aliases)): artifact for artifact in api.artifacts("model", "transformers/model-tiny-bert")}
    for step in (50, 100):
        artifact = next(found for aliases, found in versions.items() if f"checkpoint_global_step_{step}" in aliases)
        on_disk = {path.name: path.stat().st_size for path in (directory / "out" / f"checkpoint-{step}").iterdir()}
        assert {file.name: file.size for file in artifact.files()} == on_disk
        assert artifact.metadata["train/global_step"] == step
    assert any("final_model" in aliases for aliases in versions)
