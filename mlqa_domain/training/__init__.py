"""Training: STILTs (intermediate task, then SQuAD) with the Trainer, the task registry and formats,
the heads, the baseline recipes and the tiny test model."""
