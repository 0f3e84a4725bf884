"""Random, readable run names (``brisk-river-12``) and run ids, as wandb gives them."""

from __future__ import annotations

import random
import secrets
import string

_ADJECTIVES = (
    "amber", "ancient", "autumn", "billowing", "bitter", "blooming", "bold", "brisk", "calm",
    "celestial", "cerulean", "charmed", "cosmic", "crimson", "curious", "dandy", "dashing",
    "dauntless", "deft", "desert", "divine", "dry", "eager", "earthy", "electric", "elegant",
    "ethereal", "fallen", "fearless", "fiery", "floral", "fluent", "fresh", "frosty", "gallant",
    "gentle", "giddy", "glad", "glamorous", "golden", "graceful", "hardy", "hearty", "helpful",
    "hidden", "honest", "icy", "jolly", "kind", "lively", "lucky", "lunar", "magic", "misty",
    "morning", "noble", "olive", "peach", "polar", "proud", "quiet", "radiant", "rare", "restful",
    "rich", "rosy", "royal", "rural", "sage", "scarlet", "serene", "silver", "smart", "snowy",
    "solar", "sparkling", "spring", "stellar", "still", "stoic", "sunny", "swift", "twilight",
    "upbeat", "valiant", "vibrant", "vivid", "wandering", "warm", "wild", "winter", "wise", "young",
)
_NOUNS = (
    "aardvark", "bird", "blaze", "breeze", "brook", "bush", "butterfly", "cherry", "cloud",
    "comet", "cosmos", "darkness", "dawn", "dew", "disco", "dream", "dust", "energy", "feather",
    "field", "fire", "firefly", "flower", "fog", "forest", "frog", "frost", "galaxy", "glade",
    "glitter", "grass", "haze", "hill", "jazz", "lake", "leaf", "meadow", "microwave", "moon",
    "morning", "mountain", "night", "oath", "ocean", "paper", "pine", "planet", "plant", "pond",
    "rain", "resonance", "river", "salad", "sea", "shadow", "shape", "silence", "sky", "smoke",
    "snow", "snowflake", "sound", "star", "sun", "sunset", "surf", "terrain", "thunder", "tree",
    "vortex", "water", "wave", "wildflower", "wind", "wood",
)
_ID_ALPHABET = string.ascii_lowercase + string.digits
#: names are drawn from the system's entropy, never from the ``random`` module's shared state: a
#: user who seeds ``random`` gets the same sequence with tracking as without it
_DRAW = random.SystemRandom()


def random_run_name(number: int | None = None) -> str:
    """``adjective-noun-number``; the number is the run's ordinal in its project when known."""
    suffix = number if number is not None else _DRAW.randint(1, 999)
    return f"{_DRAW.choice(_ADJECTIVES)}-{_DRAW.choice(_NOUNS)}-{suffix}"


def random_run_id() -> str:
    """Eight characters of lowercase letters and digits, like wandb run ids."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))


def check_run_id(run_id: str) -> str:
    """Run ids name directories and URLs: letters, digits, ``-`` and ``_`` only."""
    allowed = set(_ID_ALPHABET + string.ascii_uppercase + "-_")
    if not run_id or not set(run_id) <= allowed or len(run_id) > 64:
        raise ValueError(f"run id {run_id!r}: use 1-64 letters, digits, '-' or '_'")
    return run_id
