#!/usr/bin/env bash
# bench/security/run.sh: the bad-input half of the issue 17 table. Each
# case runs the labctl binary once, in a fresh HOME and work directory (a
# lab.yaml, whatever the case prepares, then a stamp file), and records its
# exit code, its stderr lines, and what it created, wrote, removed or
# chmod-ed (`find HOME WORK -cnewer stamp`). It prints one markdown table
# row per case and a summary count.
#
#	bench/security/run.sh            # builds ./cmd/labctl into its temp dir
#	LABCTL=/path/to/labctl bench/security/run.sh
#
# Verdicts: clean = what the case expects (a refusal: exit 2, one line
# holding the expected words, nothing changed; an accepted dry run: exit
# 0, nothing changed); "exit N" = a clean one-line refusal with another
# exit code; lock note = a clean refusal on the lab's own state directory
# (OWN=1) that took the lab's lock first: its note was written and cleared
# again, nothing else changed; late = refused after something changed
# (another lab's lock note included); bad = accepted what
# it should refuse, refused for another reason, more than one line, a hang
# (60 s), or a dry run that changed something; node = refused on the
# node, not here (listed, not judged).
#
# A pulumi dry run is not here: in a fresh HOME it first builds the pulumi
# CLI and labctl-pulumi into labctl's cache (minutes); provision/pulumi's
# TestDryRunCreatesNothing covers it.
#
# It needs no lab and no podman: no case reaches a machine (states name
# the inventory provider; dry runs create nothing). Everything it writes is
# under one temp directory, removed at the end; HOME, XDG_* and TMPDIR
# point there. Stand-ins replace /var and /run (the same entries).
set -uo pipefail
cd "$(dirname "$0")/../.."
top=$(mktemp -d /tmp/labctl-sec.XXXXXX)
trap 'rm -rf "$top"' EXIT
bin=${LABCTL:-}
if [ -z "$bin" ]; then
	bin=$top/labctl
	nice -n 19 go build -o "$bin" ./cmd/labctl || exit 1
fi

clean=0 other=0 lock=0 late=0 bad=0 node=0 n=0

# run NAME EXPECT BODY ARGS...: EXPECT is "refuse:WORDS" (WORDS: what the
# one line must hold), accept or node; BODY is the lab file (printf
# format). PREP, if set, runs first in the work dir.
run() {
	local name=$1 expect=$2 body=$3
	shift 3
	local want=${expect#refuse:}
	local d; d=$(mktemp -d "$top/case.XXXX")
	mkdir -p "$d/home" "$d/work" "$d/tmp"
	# shellcheck disable=SC2059
	printf "$body" >"$d/work/lab.yaml"
	if [ -n "${PREP:-}" ]; then
		(cd "$d/work" && eval "$PREP") || { echo "| $name | prepare failed |"; return; }
	fi
	sleep 0.05
	touch "$d/stamp"
	sleep 0.05
	(cd "$d/work" && env -i PATH="$PATH" HOME="$d/home" TMPDIR="$d/tmp" \
		XDG_DATA_HOME="$d/home/.local/share" XDG_CACHE_HOME="$d/home/.cache" XDG_CONFIG_HOME="$d/home/.config" \
		timeout -k 5 60 nice -n 19 "$bin" "$@" </dev/null >"$d/out" 2>"$d/err")
	local rc=$?
	local lines; lines=$(grep -c '' "$d/err")
	local first; first=$(head -1 "$d/err" | cut -c1-160 | sed "s#$d/##g; s#|#\\\\|#g")
	local changed; changed=$(find "$d/home" "$d/work" "$d/tmp" -cnewer "$d/stamp" | sed "s#$d/##" | head -4 | tr '\n' ' ')
	local verdict
	case $expect in
	refuse:*)
		if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
			verdict="bad: hung"
		elif [ "$rc" = 0 ] || [ "$lines" != 1 ]; then
			verdict=bad
		elif ! grep -qF -- "$want" "$d/err"; then
			verdict="bad: another error"
		elif [ -n "${OWN:-}" ] && [ "$changed" = "work/s/lock " ] && [ ! -s "$d/work/s/lock" ] && [ "$rc" = 2 ]; then
			verdict="lock note"
		elif [ -n "$changed" ]; then
			verdict=late
		elif [ "$rc" != 2 ]; then
			verdict="exit $rc"
		else
			verdict=clean
		fi
		;;
	accept)
		if [ "$rc" = 0 ] && [ -z "$changed" ]; then verdict=clean; else verdict=bad; fi
		;;
	node) verdict=node ;;
	esac
	case $verdict in
	clean) clean=$((clean + 1)) ;;
	late) late=$((late + 1)) ;;
	"lock note") lock=$((lock + 1)) ;;
	bad*) bad=$((bad + 1)) ;;
	node) node=$((node + 1)) ;;
	*) other=$((other + 1)) ;;
	esac
	n=$((n + 1))
	[ "$verdict" = clean ] || verdict="**$verdict**"
	printf '| %s | `%s` | %s | %s | %s | %s |\n' "$name" "$*" "$rc" "$verdict" "${first:--}" "${changed:-nothing}"
}

# A state directory as `labctl up` of lab NAME leaves it (inventory
# provider, one cluster), written by hand: no lab is needed.
state() { # DIR NAME
	mkdir -m 700 "$1" "$1/logs"
	printf '{"version": 1, "lab": "%s", "provider": {"type": "inventory"}, "clusters": [{"index": 1, "nodes": [{"name": "node1", "publicAddress": "192.0.2.1", "port": 22}]}]}\n' "$2" >"$1/state.json"
	printf 'labctl state directory\n' >"$1/.labctl-state"
	: >"$1/lock"
	chmod 600 "$1/state.json" "$1/.labctl-state" "$1/lock"
}

L='name: sectab\nattendees: 1\nnodesPerCluster: 2\n'
LI='name: sectab\nattendees: 1\nnodesPerCluster: 1\nprovider: {type: inventory, clusters: [[{address: 192.0.2.1}]]}\n'

echo '| case | command | exit | verdict | stderr (first line) | changed |'
echo '|---|---|---|---|---|---|'
run "unknown field" "refuse:unknown field \"atendees\"" "${L}atendees: 3\n" up --dry-run
run "attendees 0" "refuse:attendees: 0 is out of range" 'name: sectab\nattendees: 0\n' up --dry-run
run "attendees 10000" "refuse:attendees: 10000 is out of range" 'name: sectab\nattendees: 10000\n' up --dry-run
run "nodesPerCluster 0" "refuse:nodesPerCluster: 0 is out of range" 'name: sectab\nnodesPerCluster: 0\n' up --dry-run
run "kubernetes.version 1.99.0" "refuse:1.99.0 is not supported" "${L}kubernetes: {version: \"1.99.0\"}\n" up --dry-run
run "kubernetes.version 1.30 unquoted" "refuse:write 1.30 in quotes" "${L}kubernetes: {version: 1.30}\n" up --dry-run
run "name ../x" "refuse:name: \"../x\"" 'name: ../x\n' up --dry-run
PREP='echo not a key >junk; chmod 600 junk' run "ssh.identityFile not a key" "refuse:junk is not an SSH private key" "${L}ssh: {identityFile: junk}\n" up --dry-run
run "ssh.identityFile missing" "refuse:cannot read missing/key" "${L}ssh: {identityFile: missing/key}\n" up --dry-run
run "login.password with a newline" "refuse:login.password: must be printable ASCII" "${L}login: {password: \"abcdefgh\\\\nijkl\"}\n" up --dry-run
run "login.user root" "refuse:login.user: \"root\"" "${L}login: {user: root}\n" up --dry-run
run "login.user = ssh.user" "refuse:is also ssh.user" "${L}login: {user: ubuntu}\nssh: {user: ubuntu}\n" up --dry-run
run "login.user sys" node "${L}login: {user: sys}\n" up --dry-run
run "pulumi backend ftp://x" "refuse:is not a Pulumi backend URL" "${L}provider: {type: pulumi, pulumi: {target: local, backend: \"ftp://x\"}}\n" up --dry-run
run "-f /dev/zero" "refuse:not a regular file (a device)" "$L" -f /dev/zero up --dry-run
PREP='mkfifo fifo' run "-f FIFO" "refuse:not a regular file (a named pipe)" "$L" -f fifo up --dry-run
PREP='head -c 3000000 /dev/zero | tr "\\0" a >big.yaml' run "-f 3 MB file" "refuse:larger than 1 MiB" "$L" -f big.yaml up --dry-run
run "up --only bogus" "refuse:--only: \"bogus\"" "$L" up --only bogus
run "exec --timeout -1s" "refuse:--timeout -1s: must not be negative" "$L" exec --timeout -1s -- true
run "exec --timeout 1000000h" "refuse:at most 24h" "$L" exec --timeout 1000000h -- true
run "--wait -1s" "refuse:--wait -1s: must not be negative" "$L" --wait -1s status
run "reset --grace -5s" "refuse:--grace: -5s is out of range" "$L" reset --yes --grace -5s
run "reset --grace 1000000h" "refuse:is out of range (0s to 1h0m0s)" "$L" reset --yes --grace 1000000h
run "reset --level medium" "refuse:is not soft or hard" "$L" reset --level medium
run "reset --cluster 0" "refuse:0 is not a cluster number" "$L" reset --cluster 0
OWN=1 PREP='state s sectab' run "destroy --cluster 9, one-cluster lab" "refuse:has no cluster 9" "${LI}" --state-dir s destroy --cluster 9 --yes
OWN=1 PREP='state s sectab' run "destroy without --yes, no terminal" "refuse:pass --yes to confirm" "${LI}" --state-dir s destroy
OWN=1 PREP='state s sectab' run "reset --cluster 9, one-cluster lab" "refuse:--cluster 9: the lab has clusters 1 to 1" "${LI}" --state-dir s reset --cluster 9 --yes
OWN=1 PREP='state s sectab' run "swap 5, one attendee" "refuse:has no attendee 5" "${LI}" --state-dir s swap 5
OWN=1 PREP='state s sectab' run "stop, inventory lab" "refuse:labctl does not own these machines" "${LI}" --state-dir s stop
OWN=1 PREP='state s sectab' run "trust --cluster 9" "refuse:--cluster: lab sectab has no cluster 9" "${LI}" --state-dir s trust --cluster 9 --node node1
PREP='mkdir -m 755 var var/log && ln -s /run/lock var/lock' run "--state-dir like /var (lock symlink)" "refuse:holds files that are not labctl's" "$L" --state-dir var up --dry-run
PREP='mkdir -m 755 run run/lock' run "--state-dir like /run (lock/)" "refuse:holds files that are not labctl's" "${LI}" --state-dir run up
PREP='mkdir s && echo mine >s/lock' run "--state-dir with a user file lock" "refuse:holds files that are not labctl's" "${LI}" --state-dir s up
for args in status "destroy --yes" up "up --dry-run" "reset --yes" "exec -- true"; do
	# shellcheck disable=SC2086
	PREP='state s secwd' run "--state-dir of lab secwd" "refuse:holds the state of lab \"secwd\", not of \"sectab\"" "${LI}" --state-dir s $args
done
PREP='state s sectab && ln -sf /dev/zero s/state.json' run "state.json -> /dev/zero" "refuse:a symbolic link, not the file labctl wrote" "${LI}" --state-dir s status
PREP='state s sectab && rm s/state.json && mkfifo -m 600 s/state.json' run "state.json a FIFO" "refuse:not a regular file (a named pipe)" "${LI}" --state-dir s status
PREP='state s sectab && truncate -s 100M s/state.json' run "state.json 100 MB of zeros" "refuse:larger than 64 MiB" "${LI}" --state-dir s destroy --yes
PREP='state s sectab && echo "lab: sectab" >s/state.json' run "state.json not JSON" "refuse:is damaged: invalid character" "${LI}" --state-dir s up
PREP="state s sectab && echo '{\"version\": 1, \"clusters\": 3}' >s/state.json" run "state.json JSON of another shape" "refuse:is damaged: json: cannot unmarshal number" "${LI}" --state-dir s reset --yes
run "up --dry-run, local, new lab" accept "$L" up --dry-run

echo
echo "$n cases: $clean clean, $other clean but another exit code, $lock lock note, $late late, $bad bad, $node refused on the node (not checked here)"
