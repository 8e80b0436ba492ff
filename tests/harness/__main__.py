"""``python -m tests.harness``: print the catalogue of moto patches (name, gap, what it touches)."""

from .local_aws import PATCHES

for patch in PATCHES.values():
    print(f"{patch.name}\n  gap:     {patch.gap}\n  touches: {patch.touches}\n")
