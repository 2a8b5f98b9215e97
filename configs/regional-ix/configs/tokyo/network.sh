#!/bin/sh
# tokyo: interface addressing, applied by labctl (idempotent). Generated: do not edit.
set -e
ip link set lo up
ip addr replace 198.19.0.1/32 dev lo
ip addr replace 2001:db8:f000::1/128 dev lo
# long-haul link to kibinet (transit)
ip link set eth1 up
ip addr replace 10.254.0.0/31 dev eth1
ip -6 addr replace fd00:ab::/127 dev eth1 nodad
# the line's delay, loss and rate: netem where the kernel has it (labctl doctor); line rate otherwise
tc qdisc replace dev eth1 root netem delay 8ms rate 1000mbit 2>/dev/null || echo "eth1: no netem in this kernel, line not impaired" >&2
# long-haul link to momo-catv (transit)
ip link set eth2 up
ip addr replace 10.254.0.2/31 dev eth2
ip -6 addr replace fd00:ab::2/127 dev eth2 nodad
# the line's delay, loss and rate: netem where the kernel has it (labctl doctor); line rate otherwise
tc qdisc replace dev eth2 root netem delay 8ms rate 1000mbit 2>/dev/null || echo "eth2: no netem in this kernel, line not impaired" >&2
# long-haul link to sanyo-transit (transit)
ip link set eth3 up
ip addr replace 10.254.0.4/31 dev eth3
ip -6 addr replace fd00:ab::4/127 dev eth3 nodad
# the line's delay, loss and rate: netem where the kernel has it (labctl doctor); line rate otherwise
tc qdisc replace dev eth3 root netem delay 8ms rate 1000mbit 2>/dev/null || echo "eth3: no netem in this kernel, line not impaired" >&2
# long-haul link to osaka (transit)
ip link set eth4 up
ip addr replace 10.254.0.12/31 dev eth4
ip -6 addr replace fd00:ab::c/127 dev eth4 nodad
