package nodeprep

import (
	"fmt"
	"strings"
)

// The checks below test what each step's outcome is for the attendee, not
// a marker the step left: a node that restarted, or that someone changed
// by hand, fails the check and the step runs again. They all go out in the
// run's one probe round, on every node of the class at once, so each costs
// shell builtins and a few short processes: no Go program is started, no
// network is reached (names are resolved from /etc/hosts only). They run
// under sh (sudo sh -c on non-root logins) as well as bash.

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
		names[i], want[i] = h.Name, h.IP
	}
	return fmt.Sprintf(`[ "$(hostname)" = %s ] && read -r h < /etc/hostname && [ "$h" = %s ] && %s && `+
		`[ "$(echo $(getent -s files hosts %s | awk '!seen[$1]++ {print $1}'))" = '%s' ]`,
		d.Node, d.Node, wanted("labctl-hosts.service"), strings.Join(names, " "), strings.Join(want, " "))
}

// packagesCheck: every package installed ("ii" in dpkg's database).
func packagesCheck(d NodeData) string {
	return fmt.Sprintf(`[ "$(dpkg-query -W -f='${db:Status-Abbrev}' %s 2>/dev/null)" = '%s' ]`,
		strings.Join(d.Packages, " "), strings.Repeat("ii ", len(d.Packages)))
}

// runtimeUnits are the services the runtime step keeps running.
func runtimeUnits(d NodeData) []string {
	units := []string{"containerd"}
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
	return fmt.Sprintf(`[ "$(echo $(systemctl is-active %s))" = '%s' ] && `+
		`read -r f < /proc/sys/net/ipv4/ip_forward && [ "$f" = 1 ] && `+
		`read -r b < /proc/sys/net/bridge/bridge-nf-call-iptables && [ "$b" = 1 ]`,
		strings.Join(units, " "), active)
}

// loginShadow is where the login step records the attendee's /etc/shadow
// line (root only): the check compares it, so a password changed since is
// set back, without the password itself in the probe.
const loginShadow = StepDir + "/login.shadow"

// loginRecord is appended to the login step's script.
func loginRecord(d NodeData) string {
	return "(umask 077; getent shadow " + d.User + " > " + loginShadow + ")\n"
}

// loginCheck: the login (in the docker group where Docker is), its
// password unchanged, sudo, its key (readable by it alone, matching the
// cluster's public key), the key authorized, and every node's host key
// known (lines the attendee added are fine).
func loginCheck(d NodeData) string {
	u := d.User
	var b strings.Builder
	if d.Docker {
		fmt.Fprintf(&b, `case " $(id -nG %s) " in *" docker "*) ;; *) false ;; esac && `, u)
	} else {
		fmt.Fprintf(&b, `id -u %s >/dev/null && `, u)
	}
	fmt.Fprintf(&b, `read -r s < %s && [ "$(getent shadow %s)" = "$s" ] && `, loginShadow, u)
	fmt.Fprintf(&b, `read -r s < /etc/sudoers.d/labctl-%s && [ "$s" = '%s ALL=(ALL) NOPASSWD:ALL' ] && `, u, u)
	fmt.Fprintf(&b, `[ "$(echo $(stat -c '%%U %%a' ~%s/.ssh ~%s/.ssh/id_ed25519))" = '%s 700 %s 600' ] && `, u, u, u, u)
	fmt.Fprintf(&b, `set -- $(ssh-keygen -y -f ~%s/.ssh/id_ed25519) && [ "$1 $2" = '%s' ] && `, u, keyOnly(d.PublicKey))
	// One grep counts the authorized key and the known host lines.
	args := []string{"-e '" + d.PublicKey + "'"}
	for _, h := range d.Hosts {
		args = append(args, "-e '"+knownHost(h)+"'")
	}
	fmt.Fprintf(&b, `[ "$(echo $(grep -hcxF %s ~%s/.ssh/authorized_keys ~%s/.ssh/known_hosts))" = '1 %d' ]`,
		strings.Join(args, " "), u, u, len(d.Hosts))
	return b.String()
}

// knownHost is a node's line in the attendee's known_hosts.
func knownHost(h Host) string { return h.Name + "," + h.IP + " " + h.HostKey }

// keyOnly is the type and key of an authorized_keys line.
func keyOnly(line string) string {
	f := strings.Fields(line)
	if len(f) < 2 {
		return line
	}
	return f[0] + " " + f[1]
}

// kubernetesCheck: the binaries as the step left them, kubelet enabled.
func kubernetesCheck() string {
	return `[ "$(` + kubeFingerprint + `)" = "$(cat ` + StepDir + `/kubernetes.files 2>/dev/null)" ] && ` + wanted("kubelet.service")
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
		d.LoopDevice, wanted("labctl-portworx-loop.service"))
}
