#!/usr/bin/env bash
# bench/lean/run.sh: the labctl binary's size, its package count and its
# build time from an empty build cache, side by side with a base commit
# (default: where this branch left main), in one run; then how long the
# README's first command takes to print its first line from an empty
# build cache. The module cache must be warm (scripts/deps). It prints a
# markdown report.
#
#	bench/lean/run.sh [-s] [BASE]
#
# -s: sizes and package counts only (no cold builds: minutes, not an hour).
#
# Each cold build is ONE run (they take minutes of both cores): read the
# wall times with the load average printed beside them; the CPU times
# (user+sys of the go command and its children) are what the load changes
# least.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
sizes_only=
if [ "${1:-}" = -s ]; then sizes_only=1; shift; fi
base=${1:-$(git merge-base HEAD main)}
head=$(git rev-parse --short HEAD)
work=$(mktemp -d /tmp/labctl-bench-lean.XXXXXX)
trap 'git worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add --detach "$work/base" "$base" >/dev/null 2>&1

load() { cut -d' ' -f1-3 /proc/loadavg; }

# size DIR: the binary of a plain `go build` (warm cache) and its package count.
size() {
	(cd "$1" && go build -o "$work/bin-$2" ./cmd/labctl)
	local b s
	b=$(stat -c %s "$work/bin-$2")
	(cd "$1" && go build -ldflags='-s -w' -o "$work/bin-$2-sw" ./cmd/labctl)
	s=$(stat -c %s "$work/bin-$2-sw")
	echo "$b $s $(cd "$1" && go list -deps ./cmd/labctl | wc -l)"
}

# cold DIR: `go build ./cmd/labctl` with an empty GOCACHE; wall and CPU seconds.
cold() {
	local cache; cache=$(mktemp -d "$work/gocache.XXXXXX")
	local l0; l0=$(load)
	local t0; t0=$(date +%s.%N)
	local cpu
	cpu=$( { cd "$1" && TIMEFORMAT='%U %S' && time GOCACHE="$cache" go build -o /dev/null ./cmd/labctl >/dev/null; } 2>&1 | tail -1 )
	local t1; t1=$(date +%s.%N)
	rm -rf "$cache"
	echo "$(echo "$t1 - $t0" | bc) $(echo "$cpu" | awk '{print $1+$2}') $l0 / $(load)"
}

# readme: `go run ./cmd/labctl init` with an empty GOCACHE, as the README's
# first command runs it; seconds until its first line of output.
readme() {
	local cache; cache=$(mktemp -d "$work/gocache.XXXXXX")
	local l0; l0=$(load)
	local t0; t0=$(date +%s.%N)
	local first
	first=$(GOCACHE="$cache" go run ./cmd/labctl -f "$work/lab.yaml" init 2>&1 | head -1)
	local t1; t1=$(date +%s.%N)
	rm -rf "$cache"
	echo "$(echo "$t1 - $t0" | bc)|$l0 / $(load)|$first"
}

read -r bb bsw bp < <(size "$work/base" base)
read -r hb hsw hp < <(size . head)

mb() { echo "scale=1; $1 / 1000000" | bc; }
ratio() { echo "scale=2; $1 / $2" | bc; }
if [ -n "$sizes_only" ]; then
	cat <<MD
| | base ($(git rev-parse --short "$base")) | this ($head) | ratio |
| --- | ---: | ---: | ---: |
| binary, \`go build\` | $(mb "$bb") MB ($bb B) | $(mb "$hb") MB ($hb B) | $(ratio "$bb" "$hb")x smaller |
| binary, \`-ldflags='-s -w'\` | $(mb "$bsw") MB ($bsw B) | $(mb "$hsw") MB ($hsw B) | $(ratio "$bsw" "$hsw")x smaller |
| \`go list -deps ./cmd/labctl\` | $bp | $hp | $(ratio "$bp" "$hp")x fewer |
MD
	exit 0
fi
read -r bw bc bl < <(cold "$work/base")
read -r hw hc hl < <(cold .)
IFS='|' read -r rw rl rfirst < <(readme)

cat <<MD
| | base ($(git rev-parse --short "$base")) | this ($head) | ratio |
| --- | ---: | ---: | ---: |
| binary, \`go build\` | $(mb "$bb") MB | $(mb "$hb") MB | $(ratio "$bb" "$hb")x smaller |
| binary, \`-ldflags='-s -w'\` | $(mb "$bsw") MB | $(mb "$hsw") MB | $(ratio "$bsw" "$hsw")x smaller |
| \`go list -deps ./cmd/labctl\` | $bp | $hp | $(ratio "$bp" "$hp")x fewer |
| cold \`go build\`, wall | ${bw%.*} s (load $bl) | ${hw%.*} s (load $hl) | $(ratio "$bw" "$hw")x faster |
| cold \`go build\`, CPU (user+sys) | ${bc%.*} s | ${hc%.*} s | $(ratio "$bc" "$hc")x less |

README's first command, \`go run ./cmd/labctl init\` from an empty build cache: first line after ${rw%.*} s (load $rl): \`$rfirst\`
MD
