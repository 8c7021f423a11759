#!/usr/bin/env python3
"""AWS calls per steady pass of the Mentor Match stack with each web tier, side by side:
App Runner (desired-state/mentor-match) and ECS Express Mode (desired-state/mentor-match-express).

    python3 bench/web_tiers.py            # prints a Markdown table (BENCHMARKS.md, section 6)

Release binaries, moto and steward-emulator with 0 ms transitions on loopback, as bench/run.py.
Each stack gets its own moto and emulator; the figures are the mean of passes 2-11 of one
`steward reconcile --passes 11` (caches warm, as in the daemon).
"""
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from run import ROOT, TARGET, World, converge, steady_state  # noqa: E402

STACKS = {"App Runner": "desired-state/mentor-match", "Express": "desired-state/mentor-match-express"}


def measure(folder):
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="steward-web-tiers-"))
    world = World(workdir)
    try:
        world.steward("apply", "-f", str(ROOT / folder))
        created = converge(world)
        steady = steady_state(world, n_passes=11, trials=1)
        return created, steady
    finally:
        world.close()
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    # Built where run.py takes the binaries from, whatever CARGO_TARGET_DIR says.
    env = {**os.environ, "CARGO_TARGET_DIR": str(TARGET)}
    subprocess.run(["cargo", "build", "--release", "--locked", "--workspace"], cwd=ROOT, check=True, env=env)
    results = {name: measure(folder) for name, folder in STACKS.items()}
    operations = sorted({op for _, steady in results.values() for op in steady["calls"]})
    names = list(STACKS)
    print("| service:operation | " + " | ".join(f"{n} stack" for n in names) + " |")
    print("|---|" + "---|" * len(names))
    for op in operations:
        cells = [f"{results[n][1]['calls'].get(op, 0):.1f}" for n in names]
        print(f"| {op} | " + " | ".join(cells) + " |")
    print("| **total** | " + " | ".join(f"**{results[n][1]['callsPerPass']:.1f}**" for n in names) + " |")
    print("| mutating | " + " | ".join(f"{results[n][1]['mutatingPerPass']:.1f}" for n in names) + " |")
    print("| pass wall (ms) | " + " | ".join(f"{results[n][1]['passMs']:.0f}" for n in names) + " |")
    print("| created from nothing (s) | " + " | ".join(f"{results[n][0]:.1f}" for n in names) + " |")


if __name__ == "__main__":
    main()
