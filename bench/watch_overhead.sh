#!/usr/bin/env bash
# Overhead of `descent train --watch`: the run's time (train --json "seconds": loading, training, testing) with and
# without the watch, in interleaved pairs at nice -n -20, and the median of each. Usage: bench/watch_overhead.sh [pairs] [train options...]
# e.g. bench/watch_overhead.sh 5 --epochs 100
#      bench/watch_overhead.sh 3 --dataset fashion-mnist --epochs 1
set -euo pipefail
pairs=${1:-3}
shift || true
dll="$(dirname "$0")/../src/Descent.Cli/bin/Release/net10.0/Descent.Cli.dll"
seconds() { nice -n -20 dotnet "$dll" train --json "$@" | tail -n 1 | sed 's/.*"seconds":\([0-9.]*\).*/\1/'; }
plain=(); watched=()
for ((i = 0; i < pairs; i++)); do
  plain+=("$(seconds "$@")")
  watched+=("$(seconds --watch "$@")")
  echo "pair $((i + 1)): plain ${plain[-1]} s, watch ${watched[-1]} s"
done
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
p=$(median "${plain[@]}"); w=$(median "${watched[@]}")
echo "median: plain $p s, watch $w s, overhead $(awk -v p="$p" -v w="$w" 'BEGIN { printf "%+.1f %%", 100 * (w - p) / p }')"
