#!/bin/sh
# sw-okayama: the site switch, a Linux bridge over every data port. Generated: do not edit.
set -e
ip link show br0 >/dev/null 2>&1 || ip link add name br0 type bridge
ip link set br0 type bridge stp_state 0 forward_delay 0
ip link set br0 up
ip link set eth1 master br0
ip link set eth1 up
ip link set eth2 master br0
ip link set eth2 up
ip link set eth3 master br0
ip link set eth3 up
ip link set eth4 master br0
ip link set eth4 up
ip link set eth5 master br0
ip link set eth5 up
ip link set eth6 master br0
ip link set eth6 up
ip link set eth7 master br0
ip link set eth7 up
ip link set eth8 master br0
ip link set eth8 up
