package kind

// The files our node image adds to the local provider's Debian node image,
// so that kind can drive it like its own kindest/node: kind starts the
// container with no command (the image's entrypoint boots systemd), waits
// for systemd's "Multi-User System" line (or "detected cgroup v1") in the
// logs, reads /kind/version, writes /kind/kubeadm.conf, and runs kubeadm
// and kubectl inside. Everything Kubernetes needs is already in the image:
// no registry is reached.

// entrypoint readies the container for systemd and kubelet, then execs
// init. It is ours, written for what these machines need (kind's own does
// much more, for hosts we do not have).
const entrypoint = `#!/bin/sh
set -e
# kubelet and the CNI plugins need mount propagation.
mount --make-rshared /
# Each node its own machine id (the image has none).
if [ ! -s /etc/machine-id ]; then
  systemd-machine-id-setup >/dev/null 2>&1 || true
fi
# kubelet reads /dev/kmsg for OOM events.
[ -e /dev/kmsg ] || ln -s /dev/console /dev/kmsg
# kind waits for this line (or systemd's multi-user one) before it goes on.
if [ ! -f /sys/fs/cgroup/cgroup.controllers ]; then
  echo "INFO: detected cgroup v1"
fi
exec "$@"
`

// containerdConfig: overlayfs on /var (a volume kind makes, so not on the
// container's own overlay root), runc with systemd cgroups, the pause image
// from the artifact cache, Debian's CNI plugins.
const containerdConfig = `version = 2
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{{.Pause}}"
  tolerate_missing_hugepages_controller = true
  # podman does not give a privileged node CAP_SYS_RESOURCE here: runc
  # would die on the -998 OOM score asked for every pod sandbox.
  restrict_oom_score_adj = true
[plugins."io.containerd.grpc.v1.cri".containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  SystemdCgroup = true
# Per-registry hosts (the DockerCoins phase's node-local docker.io mirror).
[plugins."io.containerd.grpc.v1.cri".registry]
  config_path = "/etc/containerd/certs.d"
[plugins."io.containerd.grpc.v1.cri".cni]
  bin_dir = "/usr/lib/cni"
  conf_dir = "/etc/cni/net.d"
`

// cniConfig is a one-node pod network: a bridge, addresses from the pod
// subnet. One node needs no routes between nodes, so no CNI daemon (kind's
// kindnet image cannot be fetched here); kind is told not to install one.
const cniConfig = `{
  "cniVersion": "0.4.0",
  "name": "labctl",
  "plugins": [
    {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "{{.PodSubnet}}"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`

// kubeletUnit and kubeletDropin run the kubelet the way kubeadm expects.
const kubeletUnit = `[Unit]
Description=kubelet: The Kubernetes Node Agent
ConditionPathExists=/var/lib/kubelet/config.yaml
Wants=labctl-images.service
After=labctl-images.service containerd.service
[Service]
ExecStart=/usr/bin/kubelet
Restart=always
StartLimitInterval=0
RestartSec=1s
Slice=kubelet.slice
KillMode=process
[Install]
WantedBy=multi-user.target
`

const kubeletDropin = `[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
ExecStartPre=/kind/bin/kubelet-cgroups.sh
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS --runtime-cgroups=/system.slice/containerd.service
`

// kubeletCgroups: kind's kubelet configuration roots pods at /kubelet
// (kubelet.slice with systemd cgroups). On cgroup v1, systemd makes that
// slice only in the hierarchies it manages; the kubelet wants it in every
// one, and a new cpuset group has no CPUs until given its parent's.
const kubeletCgroups = `#!/bin/sh
[ -f /sys/fs/cgroup/cgroup.controllers ] && exit 0
for h in /sys/fs/cgroup/*/; do
  [ "$h" = /sys/fs/cgroup/unified/ ] && continue
  mkdir -p "$h/kubelet.slice" "$h/kubelet"
done
c=/sys/fs/cgroup/cpuset
if [ -d $c ]; then
  for g in kubelet.slice kubelet; do
    [ -s $c/$g/cpuset.cpus ] || cat $c/cpuset.cpus > $c/$g/cpuset.cpus
    [ -s $c/$g/cpuset.mems ] || cat $c/cpuset.mems > $c/$g/cpuset.mems
  done
fi
exit 0
`

const kubeletSlice = `[Unit]
Description=slice for the kubelet and its pods
Before=slices.target
[Slice]
MemoryAccounting=true
CPUAccounting=true
`

// imagesUnit loads the control-plane images into containerd at first
// boot, before the kubelet starts, from the tar in the image; the marker
// is on /var (the node's volume), so a restarted node does not load them again.
const imagesUnit = `[Unit]
Description=Load the Kubernetes images into containerd (once)
Requires=containerd.service
After=containerd.service
ConditionPathExists=!/var/lib/labctl/images-loaded
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do ctr version >/dev/null 2>&1 && break; sleep 1; done; ctr -n k8s.io images import /kind/images/kubernetes.tar && mkdir -p /var/lib/labctl && touch /var/lib/labctl/images-loaded'
[Install]
WantedBy=multi-user.target
`

const crictlConfig = "runtime-endpoint: unix:///run/containerd/containerd.sock\n"

const sysctlConfig = `net.ipv4.ip_forward=1
net.ipv4.conf.all.route_localnet=1
`

// containerfile builds the node image from the base node image.
const containerfile = `FROM {{.Base}}
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      {{.Packages}} \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
COPY bin/ /usr/bin/
COPY root/ /
RUN chmod 0755 /usr/local/bin/entrypoint /kind/bin/kubelet-cgroups.sh /usr/bin/kubeadm /usr/bin/kubelet /usr/bin/kubectl \
 && systemctl enable containerd kubelet labctl-images \
 && systemctl mask ssh.service && rm -f /etc/systemd/system/multi-user.target.wants/ssh-hostkeys.service \
 && : > /etc/machine-id
ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]
STOPSIGNAL SIGRTMIN+3
`

// nodePackages are what a kind node runs on besides systemd (in the base).
var nodePackages = []string{
	"containerd", "runc", "containernetworking-plugins", "conntrack", "ebtables", "ethtool",
	"socat", "mount", "util-linux", "kmod", "iptables", "nftables", "bash",
}
