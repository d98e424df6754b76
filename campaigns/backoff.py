import random

BASE_SECONDS = 30
CAP_SECONDS = 3600


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with full jitter, capped: attempt 1 → up to 30 s, then 60, 120 … ≤ 1 h."""
    ceiling = min(CAP_SECONDS, BASE_SECONDS * 2 ** max(0, attempt - 1))
    return random.uniform(ceiling / 2, ceiling)
