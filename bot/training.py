"""Train the Rasa model only when its inputs changed.

The fingerprint is a hash of every file that shapes the model; it is stored next to the model,
so a warm start costs a few file reads instead of loading Rasa and TensorFlow.
"""
from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from knowledge_base import compiler

ROOT = Path(__file__).resolve().parent.parent
MODEL_DIR = ROOT / "models"
MODEL_NAME = "xiaoshou"
MODEL_PATH = MODEL_DIR / f"{MODEL_NAME}.tar.gz"
FINGERPRINT_PATH = MODEL_DIR / f"{MODEL_NAME}.inputs.sha256"


# Pinned packages whose version changes the trained model (a new test tool does not).
MODEL_PACKAGES = ("rasa", "tensorflow", "jieba", "opencc", "scikit-learn", "numpy")
LOCK_PATH = ROOT / "requirements" / "rasa.lock"


def model_inputs() -> list[Path]:
    """Files whose content decides the trained model, in a stable order."""
    fixed = [ROOT / "config.yml", ROOT / "domain.yml",
             ROOT / "bot" / "normalization.py", ROOT / "bot" / "nlu_components.py"]
    data = sorted((ROOT / "nlu_data").rglob("*.yml"))
    resources = sorted(path for path in (ROOT / "bot" / "data").rglob("*") if path.is_file())
    return fixed + data + resources


def model_pins(lock: Path = LOCK_PATH) -> bytes:
    lines = lock.read_text(encoding="utf-8").splitlines()
    return "\n".join(line for line in lines
                     if line.split("==")[0].strip().lower() in MODEL_PACKAGES).encode()


def fingerprint(paths: list[Path], pins: bytes = b"") -> str:
    digest = hashlib.sha256(pins)
    for path in paths:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(b"\0")
        digest.update(_content(path))
        digest.update(b"\0")
    return digest.hexdigest()


def _content(path: Path) -> bytes:
    """What of a file shapes the model. FAQ answers do not: the action server serves them live
    from the knowledge base, so the compiled FAQ counts only by its questions."""
    if path.resolve() == compiler.COMPILED_PATH.resolve():
        return compiler.training_view(path)
    return path.read_bytes()


def is_stale() -> bool:
    if not MODEL_PATH.exists() or not FINGERPRINT_PATH.exists():
        return True
    return FINGERPRINT_PATH.read_text().strip() != fingerprint(model_inputs(), model_pins())


def train(force: bool = False) -> bool:
    """Compile the knowledge base, then train if needed. Returns True when it trained."""
    count = compiler.compile_to()
    print(f"knowledge base: {count} FAQ entries compiled to {compiler.COMPILED_PATH.relative_to(ROOT)}")
    if not force and not is_stale():
        print(f"model up to date: {MODEL_PATH.relative_to(ROOT)} (FAQ answers are served live, "
              "without retraining)")
        return False
    expected = fingerprint(model_inputs(), model_pins())
    MODEL_DIR.mkdir(exist_ok=True)
    subprocess.run(rasa_train_command(MODEL_DIR, MODEL_NAME), cwd=ROOT, check=True)
    FINGERPRINT_PATH.write_text(expected + "\n")
    return True


def rasa_train_command(out: Path, name: str) -> list[str]:
    """Rasa's full training (NLU and dialogue) of this assistant, into ``out/name.tar.gz``."""
    return [sys.executable, "-m", "rasa", "train",
            "--config", str(ROOT / "config.yml"),
            "--domain", str(ROOT / "domain.yml"),
            "--data", str(ROOT / "nlu_data"),
            "--out", str(out),
            "--fixed-model-name", name,
            "--force"]
