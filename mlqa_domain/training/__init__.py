"""Training: STILTs (intermediate task, then SQuAD) with the Trainer, the task registry and formats,
the task heads, the baseline recipes and the tiny test model."""
