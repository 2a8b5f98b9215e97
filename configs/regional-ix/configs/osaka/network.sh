#!/bin/sh
# osaka: interface addressing, applied by labctl (idempotent). Generated: do not edit.
set -e
ip link set lo up
ip addr replace 198.19.1.1/32 dev lo
ip addr replace 2001:db8:f001::1/128 dev lo
# long-haul link to seto-net (transit)
ip link set eth1 up
ip addr replace 10.254.0.6/31 dev eth1
ip -6 addr replace fd00:ab::6/127 dev eth1 nodad
# the line's delay, loss and rate: netem where the kernel has it (labctl doctor); line rate otherwise
tc qdisc replace dev eth1 root netem delay 3ms rate 1000mbit 2>/dev/null || echo "eth1: no netem in this kernel, line not impaired" >&2
# long-haul link to sanyo-transit (transit)
ip link set eth2 up
ip addr replace 10.254.0.8/31 dev eth2
ip -6 addr replace fd00:ab::8/127 dev eth2 nodad
# the line's delay, loss and rate: netem where the kernel has it (labctl doctor); line rate otherwise
tc qdisc replace dev eth2 root netem delay 3ms rate 1000mbit 2>/dev/null || echo "eth2: no netem in this kernel, line not impaired" >&2
# long-haul link to mimasaka-isp (transit)
ip link set eth3 up
ip addr replace 10.254.0.10/31 dev eth3
ip -6 addr replace fd00:ab::a/127 dev eth3 nodad
# the line's delay, loss and rate: netem where the kernel has it (labctl doctor); line rate otherwise
tc qdisc replace dev eth3 root netem delay 3ms rate 1000mbit 2>/dev/null || echo "eth3: no netem in this kernel, line not impaired" >&2
# long-haul link to tokyo (transit)
ip link set eth4 up
ip addr replace 10.254.0.13/31 dev eth4
ip -6 addr replace fd00:ab::d/127 dev eth4 nodad
