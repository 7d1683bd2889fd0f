"""mlqa-domain: domain-specific splits of MLQA and a zero-shot cross-lingual QA benchmark."""

__version__ = "0.1.0"
