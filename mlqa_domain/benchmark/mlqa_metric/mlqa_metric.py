"""The official MLQA metric as an ``evaluate`` module: ``evaluate.load("<path to this directory>")``."""

from __future__ import annotations

import datasets
import evaluate

from mlqa_domain.benchmark import metric as mlqa

_CITATION = """\
@inproceedings{lewis2020mlqa,
  title={{MLQA}: Evaluating Cross-lingual Extractive Question Answering},
  author={Lewis, Patrick and Oguz, Barlas and Rinott, Ruty and Riedel, Sebastian and Schwenk, Holger},
  booktitle={Proceedings of ACL},
  pages={7315--7330},
  year={2020}
}
"""

_DESCRIPTION = """\
Exact match and F1 of extractive QA answers, scored exactly as the official MLQA script
(mlqa_evaluation_v1.py) scores them: lower-case, delete Unicode and ASCII punctuation, remove the
answer language's articles (en, es, de, vi, ar), whitespace tokens (one token per CJK char for zh),
maximum over the gold answers, 100 x the mean over all references.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: list of {"id": str, "prediction_text": str}.
    references: list of {"id": str, "answers": {"text": [str, ...], "answer_start": [int, ...]}}.
    language: answer (context) language, one of ar de en es hi vi zh; defaults to the config name
        given to ``evaluate.load(path, config_name=...)``.
Returns:
    {"exact_match": float, "f1": float}, both in 0..100.
Example:
    >>> metric = evaluate.load("mlqa_domain/benchmark/mlqa_metric", config_name="de")
    >>> metric.compute(predictions=[{"id": "1", "prediction_text": "der Vertrag"}],
    ...                references=[{"id": "1", "answers": {"text": ["Vertrag"], "answer_start": [4]}}])
    {'exact_match': 100.0, 'f1': 100.0}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class MlqaMetric(evaluate.Metric):
    """Official MLQA EM / F1 with per-language answer normalisation."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": {
                        "id": datasets.Value("string"),
                        "prediction_text": datasets.Value("string"),
                    },
                    "references": {
                        "id": datasets.Value("string"),
                        "answers": datasets.Sequence(
                            {"text": datasets.Value("string"), "answer_start": datasets.Value("int32")}
                        ),
                    },
                }
            ),
            reference_urls=["https://github.com/facebookresearch/MLQA"],
            codebase_urls=["https://github.com/facebookresearch/MLQA/blob/main/mlqa_evaluation_v1.py"],
        )

    def _compute(self, predictions, references, language: str | None = None) -> dict[str, float]:
        if language is None:
            if self.config_name in (None, "default"):
                raise ValueError("give the answer language: compute(..., language='de') or config_name='de'")
            language = self.config_name
        answers = {prediction["id"]: prediction["prediction_text"] for prediction in predictions}
        gold = [(reference["id"], reference["answers"]["text"]) for reference in references]
        return mlqa.evaluate(gold, answers, language)
