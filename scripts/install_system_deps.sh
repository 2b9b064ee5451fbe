#!/usr/bin/env bash
# Debian packages the examples and the evaluation use: espeak-ng (spoken digits) and
# dataset-fashion-mnist (Fashion-MNIST, 60k + 10k). Installs them when it can (root + apt);
# otherwise says what is missing and how to get it. The code falls back gracefully without them.
set -u
packages=(espeak-ng dataset-fashion-mnist)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: ${packages[*]} already installed"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "system packages: no apt-get here; skipping ${missing[*]} (examples fall back to built-in data)"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "system packages: not root; skipping ${missing[*]}."
  echo "  to get them: sudo apt-get install -y ${missing[*]}"
  exit 0
fi
echo "system packages: installing ${missing[*]}"
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >/tmp/mixkit-apt.log 2>&1; then
  echo "system packages: apt-get failed (see /tmp/mixkit-apt.log); continuing without ${missing[*]}"
fi
exit 0
