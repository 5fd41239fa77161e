#!/usr/bin/env bash
# A test image with this machine's Node.js (and busybox's sh, sleep, cat, ls): a TLS client that
# checks certificates, which busybox's wget does not, for a Pod that calls the API.
set -euo pipefail
image="${1:-gouvernail-test/node:1}"
if docker image inspect "$image" >/dev/null 2>&1; then exit 0; fi
rootfs="$(mktemp -d)"
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/usr/bin" "$rootfs/etc"
cp "$(command -v busybox)" "$rootfs/bin/busybox"
for applet in sh sleep cat ls; do ln -s busybox "$rootfs/bin/$applet"; done
node="$(readlink -f "$(command -v node)")"
cp "$node" "$rootfs/usr/bin/node"
for lib in $(ldd "$node" | grep -o '/[^ ]*'); do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$rootfs/etc/passwd"
tar -C "$rootfs" -c . | docker import -c 'ENV PATH=/usr/bin:/bin' - "$image" >/dev/null
echo "built $image"
