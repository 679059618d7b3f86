#!/usr/bin/env bash
# Creates .venv and installs Qwen Lab into it, for the app (`setup.sh app`) or the tests
# (`setup.sh test`, which adds pytest, Playwright and Debian's Chromium). Runs pip again only
# when pyproject.toml or this script change, so the second run starts at once.
set -euo pipefail
cd "$(dirname "$0")/.."
want=${1:-app}
python=${PYTHON:-python3}

[ -x .venv/bin/python ] || "$python" -m venv .venv
pip=".venv/bin/python -m pip"
stamp=".venv/.qwenlab-$want"
digest=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
    echo "Installing Qwen Lab into .venv (first run: a few minutes)..."
    $pip install -q --upgrade pip
    # The vision processors need torchvision, and torchvision must match torch exactly;
    # this pair is known to work together (shared/NOTES.md), so install it first.
    $pip install -q "torch==2.14.1" "torchvision==0.29.1"
    extras="all"
    [ "$want" = test ] && extras="all,test"
    $pip install -q -e ".[$extras]"
    echo "$digest" > "$stamp"
fi

# Playwright cannot download its own browser here; the tests drive Debian's Chromium. The Noto
# fonts draw the course's scripts (Devanagari, Gurmukhi, Myanmar, Nastaliq Urdu, CJK) instead of
# boxes in the browser tests' screenshots.
fonts="fonts-noto-core fonts-noto-cjk fonts-noto-color-emoji"
if [ "$want" = test ] && { [ ! -x /usr/bin/chromium ] || ! fc-list | grep -q "Noto Sans Gurmukhi"; }; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -q
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium $fonts
fi
