"""Known vulnerabilities in the locked dependencies, with pip-audit.

Usage: python deploy/audit.py requirements.lock
Exit 1 when a locked version has a known vulnerability. When the advisory data cannot
be reached (pip-audit asks PyPI's JSON API, which a mirror may not serve), the audit
says how many packages it could not check and exits 0: no data is not a finding.
"""

from __future__ import annotations

import json
import subprocess  # noqa: S404 - runs pip-audit from this venv with fixed arguments
import sys
from pathlib import Path


def main(lock: str) -> int:
    cmd = [
        str(Path(sys.executable).with_name("pip-audit")),
        *("--progress-spinner", "off", "--disable-pip", "--no-deps", "--format", "json"),
        *("-r", lock),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)  # noqa: S603
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        if "Connection" in proc.stderr or "resolve" in proc.stderr:
            print("audit: not run, the advisory service is unreachable")
            return 0
        print(proc.stdout + proc.stderr)
        return 1
    deps = report.get("dependencies", [])
    skipped = [d for d in deps if d.get("skip_reason")]
    found = [(d["name"], d["version"], v) for d in deps for v in d.get("vulns", [])]
    for name, version, vuln in found:
        fixes = ", ".join(vuln.get("fix_versions", [])) or "none yet"
        print(f"audit: {name} {version}: {vuln['id']} (fixed in {fixes})")
    checked = len(deps) - len(skipped)
    print(
        f"audit: {len(found)} known vulnerabilities in {checked} of {len(deps)} locked "
        "packages checked"
        + (f"; {len(skipped)} could not be checked (no advisory data reachable)" if skipped else "")
    )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "requirements.lock"))
