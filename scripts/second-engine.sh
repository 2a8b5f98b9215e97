#!/usr/bin/env bash
# A second Docker "host" on this machine, for multi-host labs without a second machine
# (docs/MULTIHOST.md): a network namespace with its own dockerd (own data root, exec root, socket,
# pid file, config and bridge addresses, its own iptables), joined to the default namespace by a
# veth pair that plays the wire between the two hosts.
#
#   bash scripts/second-engine.sh up   [NAME]   # prints the DOCKER_HOST and addresses as shell variables
#   bash scripts/second-engine.sh down [NAME]   # stops the engine, deletes its data, namespace and wire
#
# NAME (default labctl-hb) names the namespace and the folders; the wire is <short>0 (default
# namespace, 10.253.77.1/30) and <short>1 (in the namespace, 10.253.77.2/30). Override addresses
# with WIRE_NET=10.253.77 (a /30 is used), the engine's default bridge with BIP=10.253.78.1/24.
# The main Docker engine is not touched: nothing here changes its config, bridges or iptables.
set -euo pipefail
action=${1:?usage: second-engine.sh up|down [NAME]}
name=${2:-labctl-hb}
short=$(printf %s "$name" | tr -cd 'a-z0-9' | tail -c 8)
wire=${WIRE_NET:-10.253.77}
bip=${BIP:-10.253.78.1/24}
state=/run/$name
data=/var/lib/$name
sock=unix://$state/docker.sock
ns=/var/run/netns/$name

engine_up() {
  docker -H "$sock" info >/dev/null 2>&1
}

up() {
  ip netns list | grep -qw "^$name" || ip netns add "$name"
  if ! ip link show "${short}0" >/dev/null 2>&1; then
    ip link add "${short}0" type veth peer name "${short}1"
    ip link set "${short}1" netns "$name"
  fi
  ip addr replace "$wire.1/30" dev "${short}0"
  ip link set "${short}0" up
  ip -n "$name" addr replace "$wire.2/30" dev "${short}1"
  ip -n "$name" link set "${short}1" up
  ip -n "$name" link set lo up
  ip netns exec "$name" sysctl -qw net.ipv4.ip_forward=1
  if ! engine_up; then
    mkdir -p "$state/exec" "$data"
    [ -s "$state/daemon.json" ] || echo '{}' > "$state/daemon.json"
    rm -f "$state/docker.pid"
    # nsenter --net, not `ip netns exec`: that remounts /sys and dockerd then fails
    # ("Devices cgroup isn't mounted"; docs ENVIRONMENT.md)
    setsid nsenter --net="$ns" dockerd --config-file "$state/daemon.json" --data-root "$data" \
      --exec-root "$state/exec" --pidfile "$state/docker.pid" -H "$sock" --bip "$bip" \
      >"$state/dockerd.log" 2>&1 < /dev/null &
    for _ in $(seq 1 60); do engine_up && break; sleep 0.5; done
    engine_up || { tail -20 "$state/dockerd.log" >&2; exit 1; }
  fi
  echo "DOCKER_HOST_B=$sock NETNS_B=$name ADDRESS_A=$wire.1 ADDRESS_B=$wire.2 WIRE_A=${short}0"
}

down() {
  if [ -s "$state/docker.pid" ]; then
    pid=$(cat "$state/docker.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  fi
  # containerd-shims of a stopped engine's containers exit with it; its mounts go with the data
  { grep -o " $data[^ ]*\| $state[^ ]*" /proc/mounts || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$state" "$data"
  ip link del "${short}0" 2>/dev/null || true
  ip netns del "$name" 2>/dev/null || true
}

case "$action" in
  up) up ;;
  down) down ;;
  *) echo "usage: second-engine.sh up|down [NAME]" >&2; exit 2 ;;
esac
