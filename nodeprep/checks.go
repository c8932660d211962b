package nodeprep

import (
	"crypto/sha256"
	"fmt"
	"strings"

	"github.com/labctl/labctl/remote"
)

// The checks below test what each step's outcome is for the attendee, not
// a marker the step left: a node that restarted, or that someone changed
// by hand, fails the check and the step runs again. They all go out in the
// run's one probe round, on every node of the class at once, so each costs
// shell builtins and a few short processes: no Go program is started, no
// network is reached (names are resolved from /etc/hosts only). They run
// under sh (sudo sh -c on non-root logins) as well as bash; `set -- $(cmd)`
// turns a command's words into "$*" without a second subshell. Like the
// step scripts, they quote every value that comes from the lab.

var q = remote.ShellQuote

// firstLineIs tests a file's first line without starting a process.
// dash's read fails on some /proc files even as it reads them: the
// comparison decides, not read's status.
func firstLineIs(path, want string) string {
	return fmt.Sprintf(`{ x=; read -r x < %s; [ "$x" = %s ]; }`, q(path), q(want))
}

// wanted is where a unit file is linked when it is enabled.
func wanted(unit string) string {
	return "[ -e /etc/systemd/system/multi-user.target.wants/" + unit + " ]"
}

// hostnameCheck: the name, /etc/hostname, every nodeN resolving to its
// address, and the unit that puts the names back at boot.
func hostnameCheck(d NodeData) string {
	// getent prints the names it finds in the order asked, one line per
	// address (a podman-made /etc/hosts names the node twice, with the same
	// address): a name missing or elsewhere shows in the list.
	names := make([]string, len(d.Hosts))
	want := make([]string, len(d.Hosts))
	for i, h := range d.Hosts {
		names[i], want[i] = q(h.Name), h.IP
	}
	return fmt.Sprintf(`%s && %s && %s && `+
		`set -- $(getent -s files hosts %s | awk '!seen[$1]++ {print $1}') && [ "$*" = %s ]`,
		firstLineIs("/proc/sys/kernel/hostname", d.Node), firstLineIs("/etc/hostname", d.Node), wanted("labctl-hosts.service"),
		strings.Join(names, " "), q(strings.Join(want, " ")))
}

// packagesCheck: every package installed ("ii" in dpkg's database).
func packagesCheck(d NodeData) string {
	pkgs := make([]string, len(d.Packages))
	for i, p := range d.Packages {
		pkgs[i] = q(p)
	}
	return fmt.Sprintf(`[ "$(dpkg-query -W -f='${db:Status-Abbrev}' %s 2>/dev/null)" = '%s' ]`,
		strings.Join(pkgs, " "), strings.Repeat("ii ", len(d.Packages)))
}

// runtimeUnits are the services the runtime step keeps running.
func runtimeUnits(d NodeData) []string {
	units := []string{"containerd", "labctl-forward"}
	if d.Docker {
		units = append(units, "docker")
	}
	if d.SharedKernel {
		units = append(units, "labctl-cgroups")
	}
	return units
}

// runtimeCheck: the services active (each one: `systemctl is-active
// --quiet A B` succeeds when any is) and the kernel settings in force.
func runtimeCheck(d NodeData) string {
	units := runtimeUnits(d)
	active := strings.TrimSpace(strings.Repeat("active ", len(units)))
	return fmt.Sprintf(`set -- $(systemctl is-active %s) && [ "$*" = '%s' ] && `+
		`%s && %s`,
		strings.Join(units, " "), active,
		firstLineIs("/proc/sys/net/ipv4/ip_forward", "1"), firstLineIs("/proc/sys/net/bridge/bridge-nf-call-iptables", "1"))
}

// loginShadow is where the login step records the attendee's /etc/shadow
// line (root only): the check compares it, so a password changed since is
// set back, without the password itself in the probe.
const loginShadow = StepDir + "/login.shadow"

// loginRecord is appended to the login step's script.
func loginRecord(d NodeData) string {
	return "(umask 077; getent shadow " + q(d.User) + " > " + loginShadow + ")\n"
}

// loginCheck: the login (in the docker group where Docker is), its
// password unchanged, sudo, its key (readable by it alone, the cluster's:
// compared by digest, the key itself stays out of the probe), the key
// authorized, and every node's host key known (lines the attendee added
// are fine). The home directory is ~USER: the user name cannot be quoted
// there, so it must be plain (the login step refuses any other anyway).
func loginCheck(d NodeData) (string, error) {
	u, err := plain(d.User)
	if err != nil {
		return "", fmt.Errorf("step login: login.user: %w", err)
	}
	home := "~" + u
	var b strings.Builder
	if d.Docker {
		fmt.Fprintf(&b, `case " $(id -nG %s) " in *" docker "*) ;; *) false ;; esac && `, q(u))
	} else {
		fmt.Fprintf(&b, `id -u %s >/dev/null && `, q(u))
	}
	fmt.Fprintf(&b, `{ x=; read -r x < %s; [ -n "$x" ] && [ "$(getent shadow %s)" = "$x" ]; } && `, loginShadow, q(u))
	fmt.Fprintf(&b, `%s && `, firstLineIs("/etc/sudoers.d/labctl-"+u, u+" ALL=(ALL) NOPASSWD:ALL"))
	fmt.Fprintf(&b, `set -- $(stat -c '%%U %%a' %s/.ssh %s/.ssh/id_ed25519) && [ "$*" = %s ] && `, home, home, q(u+" 700 "+u+" 600"))
	fmt.Fprintf(&b, `set -- $(sha256sum %s/.ssh/id_ed25519) && [ "$1" = %x ] && `, home, sha256.Sum256([]byte(d.PrivateKey)))
	// One grep counts the authorized key and the known host lines.
	args := []string{"-e " + q(d.PublicKey)}
	for _, h := range d.Hosts {
		args = append(args, "-e "+q(knownHost(h)))
	}
	fmt.Fprintf(&b, `set -- $(grep -hcxF %s %s/.ssh/authorized_keys %s/.ssh/known_hosts) && [ "$*" = '1 %d' ]`,
		strings.Join(args, " "), home, home, len(d.Hosts))
	return b.String(), nil
}

// knownHost is a node's line in the attendee's known_hosts.
func knownHost(h Host) string { return h.Name + "," + h.IP + " " + h.HostKey }

// kubernetesCheck: the binaries as the step left them, kubelet enabled.
func kubernetesCheck() string {
	return `[ -s ` + StepDir + `/kubernetes.files ] && [ "$(` + kubeFingerprint + `)" = "$(cat ` + StepDir + `/kubernetes.files)" ] && ` + wanted("kubelet.service")
}

// toolsCheck: each tool there and executable (kx and kns are links).
func toolsCheck() string {
	var tests []string
	for _, t := range []string{"helm", "stern", "kx", "kns"} {
		tests = append(tests, "[ -x /usr/local/bin/"+t+" ]")
	}
	return strings.Join(tests, " && ")
}

// portworxCheck: the loop device backed by this node's /portworx.blk (by
// inode: nodes sharing a kernel each have a file of that name), and the
// unit that attaches it at boot.
func portworxCheck(d NodeData) string {
	return fmt.Sprintf(`case "$(losetup %s)" in *"]:$(stat -c %%i /portworx.blk) (/portworx.blk)") ;; *) false ;; esac && %s`,
		q(d.LoopDevice), wanted("labctl-portworx-loop.service"))
}

// webtermCheck: the service running from its unit, or (switched off)
// gone. That it answers on its port was tested when it was installed.
func webtermCheck(w *WebTerm) string {
	if w == nil {
		return ""
	}
	if !w.Enabled {
		return "[ ! -e /etc/systemd/system/labctl-webterm.service ]"
	}
	return "systemctl is-active --quiet labctl-webterm && [ -x /usr/local/bin/labctl-webterm ] && " + wanted("labctl-webterm.service")
}

func webtermFiles(w *WebTerm, up Uploads) []File {
	if w == nil || !w.Enabled {
		return nil
	}
	return up.WebTerm
}

// WebTermUser and WebTermAssets are where the webterm step puts the agent
// (the same as package webterm's User and AssetDir, which nodeprep does
// not import: the agent's build stays out of this package).
const (
	WebTermUser   = "labctl-webterm"
	WebTermAssets = "/usr/local/lib/labctl-webterm"
)
