#!/bin/sh
# What `make bench` needs from Debian: etcd (server and client), Go and the
# etcd client sources for bench/etcd/etcdbench.go. Installs what is missing.
set -e
need=""
command -v etcd >/dev/null 2>&1 || need="$need etcd-server"
command -v etcdctl >/dev/null 2>&1 || need="$need etcd-client"
command -v go >/dev/null 2>&1 || need="$need golang-go"
[ -d /usr/share/gocode/src/go.etcd.io/etcd/clientv3/concurrency ] || need="$need golang-etcd-server-dev"
[ -z "$need" ] && exit 0
echo "bench: installing from Debian:$need"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $need
