#!/usr/bin/env bash
# The install an operator makes, checked: build the wheel, install it with the locked
# dependencies into a fresh virtual environment, and from a directory far from the
# checkout run `sanliang check` and a short `sanliang chat` that must answer.
# Usage: deploy/wheel-check.sh PYTHON   (a Python with the locked setuptools, e.g. .venv/bin/python)
set -euo pipefail
py="${1:?usage: deploy/wheel-check.sh PYTHON}"
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
unset PYTHONPATH SANLIANG_CONTENT_DIR SANLIANG_CONFIG SANLIANG_DB

cd "$root"
rm -rf build  # a stale build/lib would put removed files (old migrations) into the wheel
"$py" -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir "$tmp/dist" . >/dev/null
rm -rf build
wheel="$(ls "$tmp"/dist/sanliang-*.whl)"
# The fresh environment without a pip of its own (ensurepip costs ~6 s of CPU): the
# given Python's pip installs into it (pip --python), as the operator's pip would.
"$(command -v python3)" -m venv --without-pip "$tmp/venv"
pip=("$py" -m pip --python "$tmp/venv/bin/python")
"${pip[@]}" install --quiet --require-hashes --no-deps -r requirements.lock
"${pip[@]}" install --quiet --no-deps "$wheel"
"${pip[@]}" check >/dev/null

mkdir "$tmp/elsewhere"
cd "$tmp/elsewhere"
"$tmp/venv/bin/sanliang" check
# A question after /start: the installed copy must answer exactly as the checkout does.
script=$'/start\n低保怎么申请\n'
out="$(printf '%s' "$script" | "$tmp/venv/bin/sanliang" chat --db "$tmp/chat.db")"
want="$(cd "$root" && printf '%s' "$script" | "$py" -m bot chat --db "$tmp/want.db")"
if [ -z "$out" ] || [ "$out" != "$want" ] || grep -q "出了点问题" <<<"$out"; then
    diff <(echo "$want") <(echo "$out") || true
    echo "wheel: the installed sanliang did not answer in the chat as the checkout does"
    exit 1
fi
# The writable copy an operator makes for publishing from the chat is complete.
"$tmp/venv/bin/sanliang" copy-content "$tmp/content" >/dev/null
"$tmp/venv/bin/sanliang" check --content "$tmp/content" 2>/dev/null
echo "wheel: $(basename "$wheel") installed in a fresh venv; check and chat pass outside the checkout"
"$root/deploy/verify-units.sh" "$tmp/venv/bin/sanliang"
