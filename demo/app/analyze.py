"""cove demo: reads an encrypted CSV, writes an encrypted JSON summary.

Runs unmodified under `cove run`: the script, its module and its data live in an encrypted
region, so on disk they are ciphertext and only the attested program sees plaintext.
"""
import csv
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stats  # noqa: E402  (imported from the encrypted region)

data_dir = sys.argv[1] if len(sys.argv) > 1 else "/app"
with open(os.path.join(data_dir, "salaries.csv"), newline="") as f:
    rows = list(csv.DictReader(f))
by_team = {}
for row in rows:
    by_team.setdefault(row["team"], []).append(float(row["salary"]))
summary = {team: round(stats.mean(values), 2) for team, values in sorted(by_team.items())}
with open(os.path.join(data_dir, "summary.json"), "w") as f:
    json.dump({"employees": len(rows), "mean_salary_by_team": summary}, f, indent=2)
print(f"analyzed {len(rows)} rows from the encrypted region")
