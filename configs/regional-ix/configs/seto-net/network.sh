#!/bin/sh
# seto-net: interface addressing, applied by labctl (idempotent). Generated: do not edit.
set -e
ip link set lo up
ip addr replace 198.18.2.1/32 dev lo
ip addr replace 2001:db8:2::1/128 dev lo
ip link set eth1 up
ip addr replace 192.0.2.4/24 dev eth1
ip -6 addr replace fd00:ffff::4/64 dev eth1 nodad
# backbone link to another router of seto-net (iBGP)
ip link set eth2 up
ip addr replace 10.255.0.0/31 dev eth2
ip -6 addr replace fd00:bb::/127 dev eth2 nodad
# long-haul link to osaka (transit)
ip link set eth3 up
ip addr replace 10.254.0.7/31 dev eth3
ip -6 addr replace fd00:ab::7/127 dev eth3 nodad
# the line's delay, loss and rate: netem where the kernel has it (labctl doctor); line rate otherwise
tc qdisc replace dev eth3 root netem delay 3ms rate 1000mbit 2>/dev/null || echo "eth3: no netem in this kernel, line not impaired" >&2
