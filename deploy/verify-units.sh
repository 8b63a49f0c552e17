#!/usr/bin/env bash
# Check the systemd units in deploy/ with systemd-analyze: any complaint fails.
# Usage: deploy/verify-units.sh [SANLIANG_EXECUTABLE]
# ExecStart must name an existing program for `verify`, so the units are checked as
# copies whose /opt/sanliang/bin/sanliang is replaced by the given executable (the
# wheel check passes the one it installed), else by /bin/true.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "units: systemd-analyze not found, unit check skipped"
    exit 0
fi
exe="${1:-/bin/true}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
units=(sanliang.service sanliang-backup.service sanliang-backup.timer)
for unit in "${units[@]}"; do
    sed "s|/opt/sanliang/bin/sanliang|$exe|g" "$unit" > "$tmp/$unit"
done
# The policy this project holds the main unit to (systemd accepts a unit without them).
for want in '^User=sanliang$' '^Restart=on-failure$' '^NoNewPrivileges=yes$' \
    '^ProtectSystem=strict$' '^StateDirectory=sanliang$' '^LoadCredential=telegram-token:'; do
    grep -q "$want" sanliang.service || { echo "units: sanliang.service lacks $want"; exit 1; }
done
out="$(cd "$tmp" && systemd-analyze verify "${units[@]/#/./}" 2>&1)" || { echo "$out"; exit 1; }
if [ -n "$out" ]; then
    echo "$out"
    echo "units: systemd-analyze verify complained (above)"
    exit 1
fi
score="$(cd "$tmp" && systemd-analyze security --offline=true ./sanliang.service 2>/dev/null \
    | sed -n 's/.*Overall exposure level for sanliang.service: //p')"
echo "units: ${units[*]} verified; exposure ${score:-not measured}"
