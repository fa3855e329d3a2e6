import argparse
from pathlib import Path

from tests.devhost.engine.vectors.recorder import activity_contract, client_calls, orchestrators

VECTORS = Path(__file__).resolve().parents[1]

parser = argparse.ArgumentParser(prog="python -m tests.devhost.engine.vectors.recorder")
parser.add_argument("--out", type=Path, default=VECTORS, help="folder to write the vector files into")
out = parser.parse_args().out
out.mkdir(parents=True, exist_ok=True)
orchestrators.record(out)
client_calls.record(out)
activity_contract.record(out)
print(f"recorded {len(list(out.glob('[0-9][0-9]_*.json')))} vectors into {out}")
