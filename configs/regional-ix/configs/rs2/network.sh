#!/bin/sh
# rs2: interface addressing, applied by labctl (idempotent). Generated: do not edit.
set -e
ip link set lo up
ip link set eth1 up
ip addr replace 192.0.2.2/24 dev eth1
ip -6 addr replace fd00:ffff::2/64 dev eth1 nodad
