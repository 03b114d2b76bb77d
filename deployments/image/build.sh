#!/bin/sh
# Build the example image: build.sh VERSION [IMAGE] [docker build options...]
#   deployments/image/build.sh 1.1.0                  -> web:1.1.0
#   deployments/image/build.sh 1.2.0-broken web:1.2.0-broken --build-arg EXIT_AT_START=3
# Needs Docker and a static busybox (Debian: apt-get install busybox-static); nothing is pulled.
set -eu
version=${1:?usage: build.sh VERSION [IMAGE] [docker build options...]}
image=${2:-web:$version}
[ $# -ge 2 ] && shift 2 || shift $#
here=$(cd "$(dirname "$0")" && pwd)
busybox=${BUSYBOX:-/bin/busybox}
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp -R "$here/Dockerfile" "$here/serve.sh" "$here/www" "$context/"
cp "$busybox" "$context/busybox"
docker build -q -t "$image" --build-arg "VERSION=$version" "$@" "$context"
