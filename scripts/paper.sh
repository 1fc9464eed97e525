#!/usr/bin/env bash
# Build the paper, paper/pmemobj.pdf, from the committed results/*.json:
# install TeX if it is missing, regenerate the numbers, tables and figures
# (paper/generated/), run latexmk.
#
#   scripts/paper.sh            # from results/ as committed (a few minutes on a fresh machine)
#   scripts/paper.sh --rerun    # first rerun the experiments (scripts/bench.sh), then build
set -euo pipefail
cd "$(dirname "$0")/.."

rerun=0
for a in "$@"; do
  case "$a" in
    --rerun) rerun=1 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "paper: unknown argument $a" >&2; exit 2 ;;
  esac
done
t0=$(date +%s)

# acmart needs texlive-latex-extra (xstring, totpages, hyperxmp, ...), which
# texlive-publishers only recommends; installing without recommends keeps
# out a JRE and 1.4 GB of fonts (acmart falls back to Computer Modern when
# Libertine is missing, and says so in a warning).
apt_packages=(texlive-latex-recommended texlive-publishers texlive-latex-extra
              texlive-fonts-recommended latexmk)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "paper: installing Debian packages: ${missing[*]}"
  sudo_cmd=(); [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q \
    --no-install-recommends "${missing[@]}"
fi

if ((rerun)); then
  scripts/bench.sh                 # setup, build and every experiment: rewrites results/
fi
# matplotlib comes with the project's .venv (scripts/setup.sh makes it).
[ -x .venv/bin/python ] || scripts/setup.sh

.venv/bin/python paper/generate.py
.venv/bin/python paper/figures.py
cd paper
latexmk -pdf -interaction=nonstopmode -halt-on-error pmemobj.tex >latexmk.log 2>&1 || {
  echo "paper: latexmk failed; the end of paper/latexmk.log:" >&2
  tail -40 latexmk.log >&2
  exit 1
}
# A float too large for its page is not an error to LaTeX, but what does
# not fit is never printed: fail the build on it.
if grep -n "Float too large" pmemobj.log >&2; then
  echo "paper: a float does not fit its page (paper/pmemobj.log), so part of it is missing" >&2
  exit 1
fi
pages=$(sed -n 's/.*Output written on pmemobj.pdf (\([0-9]*\) pages.*/\1/p' pmemobj.log)
echo "paper: wrote paper/pmemobj.pdf (${pages:-?} pages) in $(( $(date +%s) - t0 )) s"
